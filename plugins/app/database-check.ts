import fp from 'fastify-plugin'
import { databaseCheck, type DatabaseCheck } from '../../src/database/check.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** `SELECT 1` on a pooled connection, answered within HEALTH_TIMEOUT_MS whatever the database does. */
    checkDatabase: () => Promise<DatabaseCheck>
  }
}

export default fp(async function databaseCheckPlugin (fastify) {
  const { probeDuration } = fastify.metrics
  fastify.decorate('checkDatabase', databaseCheck(fastify.pg.pool, fastify.config.HEALTH_TIMEOUT_MS, fastify.log, (check) => {
    probeDuration.observe({ ok: String(check.ok) }, check.responseTimeMs / 1000)
  }))
}, { name: 'database-check', dependencies: ['config', 'database', 'metrics'] })
