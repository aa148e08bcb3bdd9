import fp from 'fastify-plugin'
import { sessionStore, type SessionStore } from '../../src/accounts/session-store.js'

declare module 'fastify' {
  interface FastifyInstance {
    sessions: SessionStore
  }
}

/** Sign-ins and their refresh tokens, once the schema they live in is up to date. */
export default fp(async function sessions (fastify) {
  const { config } = fastify
  fastify.decorate('sessions', sessionStore(fastify.databaseAvailability.query, {
    idleDays: config.REFRESH_TOKEN_EXPIRE_DAYS,
    lifetimeDays: config.SESSION_LIFETIME_DAYS,
    maxPerUser: config.SESSIONS_PER_USER,
    graceSeconds: config.REFRESH_GRACE_SECONDS
  }))
}, { name: 'sessions', dependencies: ['config', 'database', 'database-availability', 'migrations'] })
