import type { FastifyBaseLogger } from 'fastify'
import { within } from '../async/within.js'
import pg, { type PoolConfig } from 'pg'
import type { Config } from '../config/schema.js'

/** Shutdown waits at most this long for pooled connections to close. */
const POOL_END_TIMEOUT_MS = 3000

/**
 * The pool's settings from the config: pg and its Pool classes to use (the `pg` option of
 * @fastify/postgres) and the pool options. The client waits DATABASE_QUERY_TIMEOUT_MS for a
 * statement, and at most DATABASE_CONNECT_TIMEOUT_MS for a connection. Nothing else is sent at
 * connection start-up: a transaction-mode pooler (PgBouncer) refuses parameters such as
 * statement_timeout, so the server-side limit is the role's setting (see statementTimeoutAdvice).
 */
export function poolOptions (config: Config, connectionString: string, log: FastifyBaseLogger): PoolConfig & { pg: typeof pg } {
  return {
    pg: pgWithBoundedEnd(POOL_END_TIMEOUT_MS, () => log.warn(`closing the database pool took over ${POOL_END_TIMEOUT_MS} ms; gave up waiting`)),
    connectionString,
    max: config.DATABASE_POOL_MAX,
    connectionTimeoutMillis: config.DATABASE_CONNECT_TIMEOUT_MS,
    query_timeout: config.DATABASE_QUERY_TIMEOUT_MS,
    idleTimeoutMillis: 10_000,
    keepAlive: true,
    application_name: 'spinta-backend',
    ...(config.DEBUG ? { Client: statementLoggingClient(log) } : {})
  }
}

/**
 * What to do when the server lets a statement run longer than the client waits for it (0 is no
 * limit): the client gives up, and the statement runs on, holding its locks and a server connection.
 * A role-level setting reaches every session, pooled or not, without a start-up parameter or a
 * `SET` that would outlive the transaction on a pooler's shared connection.
 */
export function statementTimeoutAdvice (serverMs: number, clientMs: number, role: string): string | undefined {
  if (serverMs > 0 && serverMs <= clientMs) return undefined
  const now = serverMs === 0 ? 'no statement_timeout' : `statement_timeout ${serverMs} ms`
  return `the database role ${role} has ${now}, and DATABASE_QUERY_TIMEOUT_MS is ${clientMs}: ` +
    `run ALTER ROLE ${quoteIdentifier(role)} SET statement_timeout = ${clientMs} as the database owner, so statements the server gives up on are stopped`
}

function quoteIdentifier (name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

/**
 * pg with a Pool whose end() gives up after `timeoutMs`: ending a pool can hang for good, e.g. on
 * a connection whose server vanished (pg issue 2648), and shutdown must not wait for it.
 * Handed to @fastify/postgres through its `pg` option, so its own onClose stays in charge.
 */
function pgWithBoundedEnd (timeoutMs: number, onGiveUp: () => void): typeof pg {
  class BoundedEndPool extends pg.Pool {
    override end (): Promise<void>
    override end (callback: () => void): void
    override end (callback?: () => void): Promise<void> | undefined {
      const ended = within(super.end(), timeoutMs, onGiveUp)
      if (callback === undefined) return ended
      ended.then(() => callback(), () => callback())
      return undefined
    }
  }
  return { ...pg, Pool: BoundedEndPool }
}

/**
 * A pg Client that logs each statement's text and duration (DEBUG=true).
 * Parameter values are never logged: they may be passwords or personal data.
 */
function statementLoggingClient (log: FastifyBaseLogger): typeof pg.Client {
  return class StatementLoggingClient extends pg.Client {
    // pg's overloads cannot be restated one by one here; the arguments are passed through untouched.
    override query (...args: any[]): any {
      const text: unknown = typeof args[0] === 'string' ? args[0] : args[0]?.text
      const started = performance.now()
      const logged = (error?: Error | null) => {
        log.debug({ sql: text, durationMs: Number((performance.now() - started).toFixed(3)), failed: error ? true : undefined }, 'sql')
      }
      const callbackIndex = args.findIndex((arg) => typeof arg === 'function')
      if (callbackIndex !== -1) {
        const callback = args[callbackIndex]
        args[callbackIndex] = (error: Error | null, result: unknown) => {
          logged(error)
          callback(error, result)
        }
        return (super.query as (...a: any[]) => any)(...args)
      }
      const result = (super.query as (...a: any[]) => any)(...args)
      if (typeof result?.then === 'function') result.then(() => logged(), logged)
      return result
    }
  }
}

/** The connection URL for the log: a password, in the user part or a query parameter, becomes `***`. */
export function withoutPassword (connectionString: string): string {
  const url = new URL(connectionString)
  if (url.password !== '') url.password = '***'
  for (const key of [...url.searchParams.keys()]) {
    if (/password/i.test(key)) url.searchParams.set(key, '***')
  }
  return url.href
}

/** host:port/database, or the socket directory and database, for logs and errors: never the user or the password. */
export function describeDatabase (connectionString: string): string {
  const url = new URL(connectionString)
  const host = url.searchParams.get('host') ?? `${url.hostname}:${url.port || '5432'}`
  return `${host}/${decodeURIComponent(url.pathname.slice(1)) || 'postgres'}`
}
