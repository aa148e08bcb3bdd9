import fp from 'fastify-plugin'
import { databaseAvailability, type DatabaseAvailability } from '../../src/database/availability.js'
import { RETRY_AFTER_SECONDS } from '../../src/http/problem.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Whether the database can be reached; `guard` runs work that needs it, or refuses with 503. */
    databaseAvailability: DatabaseAvailability
  }
}

export default fp(async function databaseAvailabilityPlugin (fastify) {
  const availability = databaseAvailability({
    pool: fastify.pg.pool,
    timeoutMs: fastify.config.HEALTH_TIMEOUT_MS,
    suspectAfterMs: 500,
    recheckEveryMs: 1000,
    retryAfterSeconds: RETRY_AFTER_SECONDS,
    log: fastify.log
  })
  fastify.decorate('databaseAvailability', availability)
  fastify.addHook('onClose', async () => availability.close())
}, { name: 'database-availability', dependencies: ['config', 'database'] })
