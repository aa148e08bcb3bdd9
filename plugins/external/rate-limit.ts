import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import { clientKey } from '../../src/http/client-key.js'
import { httpError } from '../../src/http/http-error.js'

/** How many clients (or client and username pairs) each limit keeps a count for; the least recently seen are dropped. */
export const COUNTERS_PER_LIMIT = 5000

export interface PerClientLimitOptions {
  /** Requests each client may make in a minute. */
  perMinute: number
  /** What else the count is per, besides the client (a username, say). */
  per?: (request: FastifyRequest) => string
  /** The 429's detail, which goes on with "; retry in N s". */
  refusal: string
}

/** A per-client limit's two steps, as preHandlers; each refuses with 429 and Retry-After. */
export interface PerClientLimit {
  /** Refuses the request if the client has no requests left, without counting it. */
  refuseIfSpent: preHandlerAsyncHookHandler
  /** Counts the request, and refuses it past the limit. */
  count: preHandlerAsyncHookHandler
}

declare module 'fastify' {
  interface FastifyInstance {
    /** A new limit of `perMinute` requests per client (and per `per`), with its own counts. */
    perClientLimit: (options: PerClientLimitOptions) => PerClientLimit
    /** preHandler for the routes that hash or verify a password: PASSWORD_CHECKS_PER_MINUTE per client IP. */
    limitPasswordChecks: preHandlerAsyncHookHandler
  }
}

/**
 * Per-client request limits, counted by @fastify/rate-limit, and the one every password-checking
 * route shares: each check costs an argon2 hash (19 MiB and tens of milliseconds of a libuv
 * thread), and the sign-in limit, being per username, does not stop a client that changes the
 * username every time. Routes list their limits as preHandlers, in the order they apply: a request
 * one limit refuses is not counted by the limits after it. A limit that should count only requests
 * a later limit lets through lists its two steps around it (`refuseIfSpent`, the later limit,
 * `count`). Counters live in this process's memory, COUNTERS_PER_LIMIT per limit: several instances
 * need a shared store (Redis).
 */
export default fp(async function rateLimits (fastify) {
  await fastify.register(rateLimit, { global: false })

  let warnedOfUntrustedProxy = false
  /**
   * Behind a proxy TRUST_PROXY does not list, every client has the proxy's address, and shares one
   * count: said once, as the operator can fix it.
   */
  function warnOfUntrustedProxy (request: FastifyRequest): void {
    if (warnedOfUntrustedProxy || (request.headers['x-forwarded-for'] ?? '') === '') return
    // request.ips (only there when TRUST_PROXY lists proxies) goes past the peer only if it is listed.
    if ((request.ips?.length ?? 0) > 1) return
    warnedOfUntrustedProxy = true
    request.log.warn({ peer: request.socket.remoteAddress }, 'X-Forwarded-For came from a peer TRUST_PROXY does not list: if it is your reverse proxy, ' +
      'list it in TRUST_PROXY, or every client behind it shares one count of sign-ins and registrations')
  }

  fastify.decorate('perClientLimit', ({ perMinute, per, refusal }: PerClientLimitOptions): PerClientLimit => {
    const limit = {
      max: perMinute,
      timeWindow: 60_000,
      // Read by the in-memory store (LocalStore), though CreateRateLimitOptions' type leaves it out.
      cache: COUNTERS_PER_LIMIT,
      keyGenerator: per === undefined ? clientKey : (request: FastifyRequest) => `${clientKey(request)} ${per(request)}`
    }
    const counter = fastify.createRateLimit(limit)
    const refuse = async (request: FastifyRequest, reply: FastifyReply, increment: boolean) => {
      warnOfUntrustedProxy(request)
      const counted = await counter(request, { increment })
      if (counted.isAllowed || (increment ? !counted.isExceeded : counted.remaining > 0)) return
      reply.header('retry-after', counted.ttlInSeconds)
      throw httpError(429, `${refusal}; retry in ${counted.ttlInSeconds} s`)
    }
    return {
      refuseIfSpent: async (request, reply) => refuse(request, reply, false),
      count: async (request, reply) => refuse(request, reply, true)
    }
  })

  fastify.decorate('limitPasswordChecks', fastify.perClientLimit({
    perMinute: fastify.config.PASSWORD_CHECKS_PER_MINUTE,
    refusal: 'Too many sign-ins and registrations from this address'
  }).count)
}, { name: 'rate-limit', dependencies: ['config'] })
