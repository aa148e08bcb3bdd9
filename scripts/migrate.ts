/**
 * `npm run migrate [-- <version>]`: moves the database schema with the server's own config and
 * database plugins, so it reads the same variables and, without DATABASE_URL, migrates the same
 * embedded PostgreSQL. Each step goes to stdout; a failure to stderr with exit code 1.
 */
import Fastify from 'fastify'
import config from '../plugins/external/config.js'
import database from '../plugins/external/database.js'
import { loadEnvFile } from '../src/config/env-file.js'
import { describeStep, migrate } from '../src/database/migrations.js'

const usage = `Usage: npm run migrate [-- <version>]

Moves the database schema to the latest version in migrations/, or to <version>
(lower versions undo migrations; 0 undoes them all). Reads DATABASE_URL like the
server does (environment, then .env); without it, outside production, it migrates
the embedded PostgreSQL in EMBEDDED_DATABASE_DIR, the one the server starts.
Concurrent runs are safe: each waits for the one in progress.
`

const argument = process.argv[2]
if (argument === '-h' || argument === '--help') {
  process.stdout.write(usage)
  process.exit(0)
}
const target = argument === undefined || argument === 'latest' ? undefined : Number(argument)
if (target !== undefined && !(/^\d+$/.test(argument ?? '') && Number.isSafeInteger(target))) {
  process.stderr.write(`migrate: "${argument}" is not a version number\n\n${usage}`)
  process.exit(2)
}

const envFileProblem = loadEnvFile()
if (envFileProblem !== undefined) {
  process.stderr.write(`migrate: ${envFileProblem}\n`)
  process.exit(1)
}

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
