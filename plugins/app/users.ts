import fp from 'fastify-plugin'
import { userStore, type UserStore } from '../../src/accounts/user-store.js'

declare module 'fastify' {
  interface FastifyInstance {
    users: UserStore
  }
}

/** The user accounts, once the schema they live in is up to date. */
export default fp(async function users (fastify) {
  fastify.decorate('users', userStore(fastify.databaseAvailability.query, { preparedStatements: fastify.config.DATABASE_PREPARED_STATEMENTS }))
}, { name: 'users', dependencies: ['config', 'database', 'database-availability', 'migrations'] })
