import fp from 'fastify-plugin'
import { describeStep, migrate, readSchemaVersion } from '../../src/database/migrations.js'

/**
 * The schema is ready before any route is served. Outside production pending migrations are
 * applied here, on the embedded database and on a DATABASE_URL alike, so a fresh checkout just
 * runs. In production migrating is a deliberate deploy step: the server refuses to start while
 * the schema is behind this release, and names the command that fixes it.
 */
export default fp(async function migrations (fastify) {
  const { config, log } = fastify
  const client = await fastify.pg.connect()
  try {
    if (config.NODE_ENV === 'production') {
      const { current, latest } = await readSchemaVersion(client)
      if (current < latest) {
        throw new Error(`the database schema is at version ${current} and this release needs version ${latest}: ` +
          'run `npm run migrate` with the same DATABASE_URL, then start the server again')
      }
      // An older release rolled back onto a newer schema: additive migrations keep it working.
      if (current > latest) log.warn({ schemaVersion: current, latest }, 'the database schema is newer than this release')
    } else {
      const run = await migrate(client)
      for (const step of run.steps) log.info({ migration: describeStep(step) }, 'applied migration')
      log.info({ schemaVersion: run.current }, 'database schema is up to date')
    }
    client.release()
  } catch (error) {
    client.release(error as Error)
    throw error
  }
}, { name: 'migrations', dependencies: ['config', 'database'] })
