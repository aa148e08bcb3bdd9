import path from 'node:path'
import fp from 'fastify-plugin'
import fastifyPostgres from '@fastify/postgres'
import { startEmbeddedDatabase } from '../../src/database/embedded.js'
import { describeDatabase, poolOptions, statementTimeoutAdvice, withoutPassword } from '../../src/database/pool.js'

/**
 * One pg pool per process, decorated as `fastify.pg` by @fastify/postgres, on DATABASE_URL or,
 * without it, on the embedded PostgreSQL in EMBEDDED_DATABASE_DIR. `fastify.pg.query()` and
 * `fastify.pg.transact()` check a client out and always release it, also when the work throws.
 */
export default fp(async function database (fastify) {
  const { config, log } = fastify
  let connectionString = config.DATABASE_URL

  if (connectionString === undefined) {
    const dataDir = path.resolve(config.EMBEDDED_DATABASE_DIR)
    const embedded = await startEmbeddedDatabase({ dataDir, onLog: (line) => log.debug({ postgres: line }, 'embedded postgres') })
    log.info({ dataDir, socket: embedded.socketPath }, 'DATABASE_URL is not set: started the embedded PostgreSQL')
    // Registered before the pool, so it runs after the pool has ended (onClose hooks run last-in, first-out).
    fastify.addHook('onClose', () => embedded.stop())
    connectionString = embedded.url
  }

  await fastify.register(fastifyPostgres, poolOptions(config, connectionString, log))

  // A pooled connection that dies while idle (server restart, network drop) is removed by pg
  // and reported here; without a listener the 'error' event would crash the process.
  fastify.pg.pool.on('error', (error) => {
    log.warn({ err: error }, 'an idle database connection was lost; the pool discarded it')
  })

  const target = describeDatabase(connectionString)
  let session: { statement_timeout_ms: number, role: string }
  try {
    const { rows } = await fastify.pg.query<typeof session>(
      "SELECT setting::integer AS statement_timeout_ms, current_user AS role FROM pg_settings WHERE name = 'statement_timeout'"
    )
    session = rows[0]
  } catch (error) {
    throw new Error(`cannot reach PostgreSQL at ${target}: ${(error as Error).message}`)
  }
  log.info({ database: target, url: withoutPassword(connectionString), statementTimeoutMs: session.statement_timeout_ms }, 'database connection checked')
  // Production only: the embedded database and throwaway test clusters run with the server's default.
  const advice = statementTimeoutAdvice(session.statement_timeout_ms, config.DATABASE_QUERY_TIMEOUT_MS, session.role)
  if (advice !== undefined && config.NODE_ENV === 'production') log.warn(advice)
}, { name: 'database', dependencies: ['config'] })
