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

/** A query still pending this long makes the app check the database. */
export const SUSPECT_AFTER_MS = 500
/** How often the database is checked while it is unreachable. */
export const RECHECK_EVERY_MS = 1000

export default fp(async function databaseAvailabilityPlugin (fastify) {
  const { probeDuration } = fastify.metrics
  const availability = databaseAvailability({
    pool: fastify.pg.pool,
    timeoutMs: fastify.config.HEALTH_TIMEOUT_MS,
    suspectAfterMs: SUSPECT_AFTER_MS,
    recheckEveryMs: RECHECK_EVERY_MS,
    retryAfterSeconds: RETRY_AFTER_SECONDS,
    log: fastify.log,
    onAnswer: (check) => probeDuration.observe({ ok: String(check.ok) }, check.responseTimeMs / 1000)
  })
  fastify.decorate('databaseAvailability', availability)
  fastify.decorate('checkDatabase', availability.check)
  fastify.addHook('onClose', async () => availability.close())
}, { name: 'database-availability', dependencies: ['config', 'database', 'metrics'] })
