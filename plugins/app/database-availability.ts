import fp from 'fastify-plugin'
import { databaseAvailability, type DatabaseAvailability, type DatabaseCheck } from '../../src/database/availability.js'
import { RETRY_AFTER_SECONDS } from '../../src/http/problem.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Whether the database can be reached; `guard` runs work that needs it, or refuses with 503. */
    databaseAvailability: DatabaseAvailability
    /** `SELECT 1`, answered within HEALTH_TIMEOUT_MS whatever the database does: the availability's own check. */
    checkDatabase: () => Promise<DatabaseCheck>
  }
}

export default fp(async function databaseAvailabilityPlugin (fastify) {
  const { probeDuration } = fastify.metrics
  const availability = databaseAvailability({
    pool: fastify.pg.pool,
    timeoutMs: fastify.config.HEALTH_TIMEOUT_MS,
    suspectAfterMs: 500,
    recheckEveryMs: 1000,
    retryAfterSeconds: RETRY_AFTER_SECONDS,
    log: fastify.log,
    onAnswer: (check) => probeDuration.observe({ ok: String(check.ok) }, check.responseTimeMs / 1000)
  })
  fastify.decorate('databaseAvailability', availability)
  fastify.decorate('checkDatabase', availability.check)
  fastify.addHook('onClose', async () => availability.close())
}, { name: 'database-availability', dependencies: ['config', 'database', 'metrics'] })
