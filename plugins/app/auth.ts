import fp from 'fastify-plugin'
import jwt from '@fastify/jwt'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { httpError } from '../../src/http/http-error.js'
import type { User } from '../../src/accounts/user.js'

declare module '@fastify/jwt' {
  interface FastifyJWT {
    /** An access token names its user by id, and the user's token version when it was issued. */
    payload: { sub: string, ver: number }
    /** `authenticate` replaces the verified payload with the user it names. */
    user: User
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * An onRequest hook for routes that need a signed-in user: it checks the bearer token and
     * sets `request.user`, or answers 401 with `WWW-Authenticate: Bearer` (403 for a deactivated account).
     */
    authenticate: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
  }
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const bearer = /^Bearer +(\S+)$/i

/**
 * Access tokens: JWTs signed with SECRET_KEY and ALGORITHM, valid ACCESS_TOKEN_EXPIRE_MINUTES.
 * Verification accepts ALGORITHM alone, so `alg: none` and every other algorithm are refused.
 */
export default fp(async function auth (fastify) {
  const { config } = fastify
  await fastify.register(jwt, {
    // Always set for a server: the config plugin makes a random one outside production, and refuses to start without one in production.
    secret: config.SECRET_KEY!,
    sign: { algorithm: config.ALGORITHM, expiresIn: config.ACCESS_TOKEN_EXPIRE_MINUTES * 60 },
    // A client sends the same token with each request until it expires. fast-jwt's cache remembers
    // a verified token by its hash (never the token itself) until its own expiry, at most 10 minutes.
    verify: { algorithms: [config.ALGORITHM], cache: true }
  })

  fastify.decorate('authenticate', async function authenticate (request: FastifyRequest, reply: FastifyReply) {
    if (request.headers.authorization === undefined) {
      reply.header('www-authenticate', 'Bearer')
      throw httpError(401, 'Not authenticated')
    }
    // RFC 6750: a token that is malformed, expired, forged or names no user is an invalid_token.
    const invalidToken = () => {
      reply.header('www-authenticate', 'Bearer error="invalid_token"')
      return httpError(401, 'Could not validate credentials')
    }
    const token = bearer.exec(request.headers.authorization)?.[1]
    if (token === undefined) throw invalidToken()
    let sub: unknown
    let ver: unknown
    try {
      ({ sub, ver } = fastify.jwt.verify<{ sub: unknown, ver?: unknown }>(token))
    } catch {
      throw invalidToken()
    }
    const found = typeof sub === 'string' && uuid.test(sub) ? await fastify.users.findVersionedById(sub) : null
    // A token from before the last password change carries an older version. One without `ver`
    // counts as 0, the version of a password never changed, so it is refused from the first change.
    if (found === null || (ver ?? 0) !== found.tokenVersion) throw invalidToken()
    if (!found.user.is_active) throw httpError(403, 'This account is deactivated')
    request.user = found.user
  })
}, { name: 'auth', dependencies: ['config', 'users'] })
