import type { Config } from '../config/schema.js'

/** What an access token says besides its registered times, issuer and audience. */
export interface AccessClaims {
  /** The user's id. */
  sub: string
  /** The sign-in (session) the token belongs to: when it ends, so does the token. */
  sid: string
  /** The account's token version when issued: a password change raises it. */
  ver: number
  /** The sign-in's refresh generation when issued. */
  gen: number
}

/** RFC 9068's media type for access tokens, in the `typ` header. */
export const ACCESS_TOKEN_TYPE = 'at+jwt'
/** Every claim an access token must carry (RFC 8725 §3.10: validate all of them). */
const REQUIRED_CLAIMS = ['iss', 'aud', 'exp', 'iat', 'sub', 'sid', 'ver', 'gen', 'jti']
/** How far ahead of this server's clock a token's `iat` may be, for clocks of instances that differ. */
const CLOCK_TOLERANCE_SECONDS = 30
const bearer = /^Bearer +(\S+)$/i
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

type TokenSettings = Pick<Config, 'ALGORITHM' | 'JWT_ISSUER' | 'JWT_AUDIENCE'>

/**
 * fast-jwt's verifier options: ALGORITHM alone, so `alg: none` and every other algorithm are
 * refused, the configured issuer and audience, and every claim required (RFC 8725, RFC 9068).
 * A client sends the same token with each request until it expires: the cache remembers a
 * verified token by its hash (never the token itself) until its own expiry, at most 10 minutes.
 */
export function accessTokenVerifyOptions ({ ALGORITHM, JWT_ISSUER, JWT_AUDIENCE }: TokenSettings) {
  return {
    algorithms: [ALGORITHM],
    allowedIss: JWT_ISSUER,
    allowedAud: JWT_AUDIENCE,
    checkTyp: ACCESS_TOKEN_TYPE,
    requiredClaims: REQUIRED_CLAIMS,
    cache: true
  }
}

/**
 * A verified token's claims, if each has the right type and its lifetime is no longer than
 * `lifetimeSeconds`, else undefined.
 */
export function accessClaims (payload: Record<string, unknown>, lifetimeSeconds: number): AccessClaims | undefined {
  const { sub, sid, ver, gen, iat, exp } = payload
  if (typeof sub !== 'string' || !uuid.test(sub) || typeof sid !== 'string' || !uuid.test(sid)) return undefined
  if (!Number.isInteger(ver) || !Number.isInteger(gen) || typeof iat !== 'number' || typeof exp !== 'number') return undefined
  if (exp - iat > lifetimeSeconds || iat > Date.now() / 1000 + CLOCK_TOLERANCE_SECONDS) return undefined
  return { sub, sid, ver: ver as number, gen: gen as number }
}

/** A sign-in as found by the token's `sid`. */
interface FoundSignIn {
  user: { id: string }
  tokenVersion: number
  minGeneration: number
}

/** Whether the sign-in found by the token's `sid` is still the one the token was issued for. */
export function tokenStillValid<Found extends FoundSignIn> (claims: AccessClaims, found: Found | null): found is Found {
  return found !== null && found.user.id === claims.sub && found.tokenVersion === claims.ver && claims.gen >= found.minGeneration
}

/** The token of an `Authorization: Bearer` header (RFC 6750), or undefined. */
export function bearerToken (authorization: string): string | undefined {
  return bearer.exec(authorization)?.[1]
}
