import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'
import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import { clientKey } from '../src/client-key.js'
import { httpError } from '../src/http-error.js'

export interface PerClientLimitOptions {
  /** Requests each client may make in a minute. */
  perMinute: number
  /** What else the count is per, besides the client (a username, say). */
  per?: (request: FastifyRequest) => string
  /** The 429's detail, which goes on with "; retry in N s". */
  refusal: string
}

declare module 'fastify' {
  interface FastifyInstance {
    /** A preHandler refusing a client's requests past `perMinute` with 429 and Retry-After. */
    perClientLimit: (options: PerClientLimitOptions) => preHandlerAsyncHookHandler
    /** preHandler for the routes that hash or verify a password: PASSWORD_CHECKS_PER_MINUTE per client IP. */
    limitPasswordChecks: preHandlerAsyncHookHandler
  }
}

/**
 * Per-client request limits, counted by @fastify/rate-limit, and the one every password-checking
 * route shares: each check costs an argon2 hash (19 MiB and tens of milliseconds of a libuv
 * thread), and the sign-in limit, being per username, does not stop a client that changes the
 * username every time. Routes list their limits as preHandlers, in the order they apply: a request
 * one limit refuses is not counted by the limits after it. Counters live in this process's memory:
 * several instances need a shared store (Redis).
 */
export default fp(async function rateLimits (fastify) {
  await fastify.register(rateLimit, { global: false })

  let warnedOfUntrustedProxy = false
  /**
   * Behind a proxy TRUST_PROXY does not list, every client has the proxy's address, and shares one
   * count: said once, as the operator can fix it (README, "Accounts and sign-in").
   */
  function warnOfUntrustedProxy (request: FastifyRequest): void {
    if (warnedOfUntrustedProxy || request.headers['x-forwarded-for'] === undefined || request.ip !== request.socket.remoteAddress) return
    warnedOfUntrustedProxy = true
    request.log.warn({ peer: request.ip }, 'X-Forwarded-For came from a peer TRUST_PROXY does not list: if it is your reverse proxy, ' +
      'list it in TRUST_PROXY, or every client behind it shares one count of sign-ins and registrations')
  }

  fastify.decorate('perClientLimit', ({ perMinute, per, refusal }: PerClientLimitOptions): preHandlerAsyncHookHandler => {
    const count = fastify.createRateLimit({
      max: perMinute,
      timeWindow: 60_000,
      keyGenerator: per === undefined ? clientKey : (request) => `${clientKey(request)} ${per(request)}`
    })
    return async (request, reply) => {
      warnOfUntrustedProxy(request)
      const counted = await count(request)
      if (counted.isAllowed || !counted.isExceeded) return
      reply.header('retry-after', counted.ttlInSeconds)
      throw httpError(429, `${refusal}; retry in ${counted.ttlInSeconds} s`)
    }
  })

  fastify.decorate('limitPasswordChecks', fastify.perClientLimit({
    perMinute: fastify.config.PASSWORD_CHECKS_PER_MINUTE,
    refusal: 'Too many sign-ins and registrations from this address'
  }))
}, { name: 'rate-limit', dependencies: ['config'] })
