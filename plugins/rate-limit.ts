import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'
import type { preHandlerAsyncHookHandler } from 'fastify'
import { httpError } from '../src/http-error.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** preHandler for the routes that hash or verify a password: PASSWORD_CHECKS_PER_MINUTE per client IP. */
    limitPasswordChecks: preHandlerAsyncHookHandler
  }
}

/**
 * @fastify/rate-limit for the routes that ask for it in `config.rateLimit` (none are limited by
 * default), plus a per-IP budget of password hashes shared by sign-in and registration: each costs
 * 19 MiB and tens of milliseconds of a libuv thread, and the sign-in limit, being per username,
 * does not stop a client that changes the username every time. Counters live in this process's
 * memory: several instances need a shared store (Redis).
 */
export default fp(async function rateLimits (fastify) {
  await fastify.register(rateLimit, { global: false })

  const countPasswordCheck = fastify.createRateLimit({ max: fastify.config.PASSWORD_CHECKS_PER_MINUTE, timeWindow: 60_000 })
  fastify.decorate<preHandlerAsyncHookHandler>('limitPasswordChecks', async (request, reply) => {
    const count = await countPasswordCheck(request)
    if (count.isAllowed || !count.isExceeded) return
    reply.header('retry-after', count.ttlInSeconds)
    throw httpError(429, `Too many sign-ins and registrations from this address; retry in ${count.ttlInSeconds} s`)
  })
}, { name: 'rate-limit', dependencies: ['config'] })
