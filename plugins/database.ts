import path from 'node:path'
import fp from 'fastify-plugin'
import fastifyPostgres from '@fastify/postgres'
import { startEmbeddedDatabase } from '../src/embedded-database.js'
import { statementLoggingClient } from '../src/sql-log.js'
import { pgWithBoundedEnd } from '../src/bounded-pool.js'

/** Shutdown waits at most this long for pooled connections to close. */
const POOL_END_TIMEOUT_MS = 3000

/**
 * One pg pool per process, decorated as `fastify.pg` by @fastify/postgres.
 * `fastify.pg.query()` and `fastify.pg.transact()` check a client out and always release it,
 * also when the work throws; a route may instead ask for a request-scoped transaction client
 * with `{ pg: { transact: true } }`.
 */
export default fp(async function database (fastify) {
  const { config, log } = fastify
  let connectionString = config.DATABASE_URL

  if (connectionString === undefined) {
    const dataDir = path.resolve(config.EMBEDDED_DATABASE_DIR)
    const embedded = await startEmbeddedDatabase({ dataDir, onLog: (line) => log.debug({ postgres: line }, 'embedded postgres') })
    log.info({ dataDir, port: embedded.port }, 'DATABASE_URL is not set: started the embedded PostgreSQL')
    // Registered before the pool, so it runs after the pool has ended (onClose hooks run last-in, first-out).
    fastify.addHook('onClose', () => embedded.stop())
    connectionString = embedded.url
  }

  await fastify.register(fastifyPostgres, {
    pg: pgWithBoundedEnd(POOL_END_TIMEOUT_MS, () => log.warn(`closing the database pool took over ${POOL_END_TIMEOUT_MS} ms; gave up waiting`)),
    connectionString,
    max: config.DATABASE_POOL_MAX,
    connectionTimeoutMillis: config.DATABASE_CONNECT_TIMEOUT_MS,
    query_timeout: config.DATABASE_QUERY_TIMEOUT_MS,
    statement_timeout: config.DATABASE_QUERY_TIMEOUT_MS,
    idleTimeoutMillis: 10_000,
    keepAlive: true,
    application_name: 'spinta-backend',
    ...(config.DEBUG ? { Client: statementLoggingClient(log) } : {})
  })

  // A pooled connection that dies while idle (server restart, network drop) is removed by pg
  // and reported here; without a listener the 'error' event would crash the process.
  fastify.pg.pool.on('error', (error) => {
    log.warn({ err: error }, 'an idle database connection was lost; the pool discarded it')
  })

  const target = describeDatabase(connectionString)
  try {
    await fastify.pg.query('SELECT 1')
  } catch (error) {
    throw new Error(`cannot reach PostgreSQL at ${target}: ${(error as Error).message}`)
  }
  log.info({ database: target, url: withoutPassword(connectionString) }, 'database connection checked')
}, { name: 'database', dependencies: ['config'] })

/** The connection URL for the log: a password, in the user part or a query parameter, becomes `***`. */
function withoutPassword (connectionString: string): string {
  const url = new URL(connectionString)
  if (url.password !== '') url.password = '***'
  for (const key of [...url.searchParams.keys()]) {
    if (/password/i.test(key)) url.searchParams.set(key, '***')
  }
  return url.href
}

/** host:port/database for logs and errors: never the user or the password. */
function describeDatabase (connectionString: string): string {
  const url = new URL(connectionString)
  return `${url.hostname}:${url.port || '5432'}/${decodeURIComponent(url.pathname.slice(1)) || 'postgres'}`
}
