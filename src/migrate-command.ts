import Fastify from 'fastify'
import config from '../plugins/config.js'
import database from '../plugins/database.js'
import { describeStep, migrate } from './migrate.js'

/**
 * `npm run migrate` once its arguments are read and `.env` is loaded (src/migrate-cli.ts): moves
 * the schema to `target` (the latest when undefined), reporting each step on stdout and a failure
 * on stderr with exit code 1.
 */
export async function migrateDatabase (target: number | undefined): Promise<void> {
  // The server's own config and database plugins: the same variables, defaults and embedded database.
  // Migrating needs no SECRET_KEY: a deploy step should not be handed the token signing key.
  const app = Fastify({ logger: false })
  app.register(config, { purpose: 'migrate' })
  app.register(database)

  try {
    await app.ready()
    if (app.config.DATABASE_URL === undefined) {
      process.stdout.write(`DATABASE_URL is not set: migrating the embedded PostgreSQL in ${app.config.EMBEDDED_DATABASE_DIR}\n`)
    }
    const client = await app.pg.connect()
    try {
      const run = await migrate(client, target)
      for (const step of run.steps) process.stdout.write(`${step.action === 'do' ? 'applied' : 'undid'} ${describeStep(step)}\n`)
      const where = `version ${run.current}${run.current === run.latest ? ' (the latest)' : ` (the latest is ${run.latest})`}`
      process.stdout.write(run.steps.length === 0 ? `The schema is already at ${where}: nothing to do.\n` : `The schema is now at ${where}.\n`)
    } finally {
      client.release()
    }
  } catch (error) {
    process.stderr.write(`migrate: ${(error as Error).message}\n`)
    process.exitCode = 1
  } finally {
    await app.close()
  }
}
