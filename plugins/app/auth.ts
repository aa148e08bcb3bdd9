import { randomUUID } from 'node:crypto'
import fp from 'fastify-plugin'
import jwt from '@fastify/jwt'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { httpError } from '../../src/http/http-error.js'
import type { User } from '../../src/accounts/user.js'

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

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: AccessClaims & { jti: string }
    /** `authenticate` replaces the verified payload with the user it names. */
    user: User
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * An onRequest hook for routes that need a signed-in user: it checks the bearer token and the
     * sign-in it belongs to, and sets `request.user` and `request.sessionId`, or answers 401 with
     * `WWW-Authenticate: Bearer` (403 for a deactivated account).
     */
    authenticate: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
    /** A new access token (RFC 9068: `typ: at+jwt`, with iss, aud, iat, exp and jti). */
    signAccessToken: (claims: AccessClaims) => Promise<string>
  }
  interface FastifyRequest {
    /** The sign-in the request's access token belongs to, once `authenticate` has run. */
    sessionId: string
  }
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const bearer = /^Bearer +(\S+)$/i
/** RFC 9068's media type for access tokens, in the `typ` header. */
const ACCESS_TOKEN_TYPE = 'at+jwt'
/** Every claim an access token must carry (RFC 8725 §3.10: validate all of them). */
const REQUIRED_CLAIMS = ['iss', 'aud', 'exp', 'iat', 'sub', 'sid', 'ver', 'gen', 'jti']
/** How far ahead of this server's clock a token's `iat` may be, for clocks of instances that differ. */
const CLOCK_TOLERANCE_SECONDS = 30

/**
 * Access tokens: JWTs signed with SECRET_KEY and ALGORITHM, valid ACCESS_TOKEN_EXPIRE_MINUTES,
 * from JWT_ISSUER for JWT_AUDIENCE, each bound to its sign-in. Verification accepts ALGORITHM
 * alone, so `alg: none` and every other algorithm are refused, and requires every claim
 * (RFC 8725, RFC 9068): a token minted with the key by anything else (a staging copy sharing it,
 * say) still needs a live sign-in of this database to be accepted.
 */
export default fp(async function auth (fastify) {
  const { config } = fastify
  const lifetime = config.ACCESS_TOKEN_EXPIRE_MINUTES * 60

  await fastify.register(jwt, {
    // Always set for a server: the config plugin makes a random one outside production, and refuses to start without one in production.
    secret: config.SECRET_KEY!,
    sign: { algorithm: config.ALGORITHM, expiresIn: lifetime, iss: config.JWT_ISSUER, aud: config.JWT_AUDIENCE, header: { alg: config.ALGORITHM, typ: ACCESS_TOKEN_TYPE } },
    // A client sends the same token with each request until it expires. fast-jwt's cache remembers
    // a verified token by its hash (never the token itself) until its own expiry, at most 10 minutes.
    verify: {
      algorithms: [config.ALGORITHM],
      allowedIss: config.JWT_ISSUER,
      allowedAud: config.JWT_AUDIENCE,
      checkTyp: ACCESS_TOKEN_TYPE,
      requiredClaims: REQUIRED_CLAIMS,
      cache: true
    }
  })

  fastify.decorate('signAccessToken', async function signAccessToken (claims: AccessClaims) {
    return fastify.jwt.sign({ ...claims, jti: randomUUID() })
  })
  fastify.decorateRequest('sessionId', '')

  /** A verified token's claims, if each has the right type and its lifetime is no longer than configured. */
  function wellFormed (payload: Record<string, unknown>): AccessClaims | undefined {
    const { sub, sid, ver, gen, iat, exp } = payload
    if (typeof sub !== 'string' || !uuid.test(sub) || typeof sid !== 'string' || !uuid.test(sid)) return undefined
    if (!Number.isInteger(ver) || !Number.isInteger(gen) || typeof iat !== 'number' || typeof exp !== 'number') return undefined
    if (exp - iat > lifetime || iat > Date.now() / 1000 + CLOCK_TOLERANCE_SECONDS) return undefined
    return { sub, sid, ver: ver as number, gen: gen as number }
  }

  fastify.decorate('authenticate', async function authenticate (request: FastifyRequest, reply: FastifyReply) {
    if (request.headers.authorization === undefined) {
      reply.header('www-authenticate', 'Bearer')
      throw httpError(401, 'Not authenticated')
    }
    // RFC 6750: a token that is malformed, expired, forged, or whose sign-in has ended is an invalid_token.
    const invalidToken = () => {
      reply.header('www-authenticate', 'Bearer error="invalid_token"')
      return httpError(401, 'Could not validate credentials')
    }
    const token = bearer.exec(request.headers.authorization)?.[1]
    if (token === undefined) throw invalidToken()
    let claims: AccessClaims | undefined
    try {
      claims = wellFormed(fastify.jwt.verify<Record<string, unknown>>(token))
    } catch {
      throw invalidToken()
    }
    if (claims === undefined) throw invalidToken()
    // One query finds the sign-in and its user: an ended sign-in (sign-out, reuse, a password
    // change, ended by the user) leaves nothing to find, so its access tokens fail at once.
    const found = await fastify.users.findBySession(claims.sid)
    if (found === null || found.user.id !== claims.sub || found.tokenVersion !== claims.ver || claims.gen < found.minGeneration) throw invalidToken()
    if (!found.user.is_active) throw httpError(403, 'This account is deactivated')
    request.user = found.user
    request.sessionId = claims.sid
  })
}, { name: 'auth', dependencies: ['config', 'users'] })
