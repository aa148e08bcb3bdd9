import fp from 'fastify-plugin'
import { userStore, type UserStore } from '../../src/accounts/user-store.js'

declare module 'fastify' {
  interface FastifyInstance {
    users: UserStore
  }
}

/** The user accounts, once the schema they live in is up to date. */
export default fp(async function users (fastify) {
  const { pg, databaseAvailability } = fastify
  fastify.decorate('users', userStore((text, values) => databaseAvailability.guard(() => pg.pool.query(text, values))))
}, { name: 'users', dependencies: ['database', 'database-availability', 'migrations'] })
