import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'

/**
 * @fastify/rate-limit for the routes that ask for it in `config.rateLimit` (none are limited by
 * default). Counters live in this process's memory: several instances need a shared store (Redis).
 */
export default fp(async function rateLimits (fastify) {
  await fastify.register(rateLimit, { global: false })
}, { name: 'rate-limit' })
