import { randomUUID } from 'node:crypto'
import fp from 'fastify-plugin'
import jwt from '@fastify/jwt'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { httpError } from '../../src/http/http-error.js'
import { accessClaims, accessTokenVerifyOptions, ACCESS_TOKEN_TYPE, bearerToken, tokenStillValid, type AccessClaims } from '../../src/accounts/access-token.js'
import type { User } from '../../src/accounts/user.js'

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
    verify: accessTokenVerifyOptions(config)
  })

  fastify.decorate('signAccessToken', async function signAccessToken (claims: AccessClaims) {
    return fastify.jwt.sign({ ...claims, jti: randomUUID() })
  })
  fastify.decorateRequest('sessionId', '')

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
    const token = bearerToken(request.headers.authorization)
    if (token === undefined) throw invalidToken()
    let claims: AccessClaims | undefined
    try {
      claims = accessClaims(fastify.jwt.verify<Record<string, unknown>>(token), lifetime)
    } catch {
      throw invalidToken()
    }
    if (claims === undefined) throw invalidToken()
    // One query finds the sign-in and its user: an ended sign-in (sign-out, reuse, a password
    // change, ended by the user) leaves nothing to find, so its access tokens fail at once.
    const found = await fastify.users.findBySession(claims.sid)
    if (!tokenStillValid(claims, found)) throw invalidToken()
    if (!found.user.is_active) throw httpError(403, 'This account is deactivated')
    request.user = found.user
    request.sessionId = claims.sid
  })
}, { name: 'auth', dependencies: ['config', 'users'] })
