import type { FastifyBaseLogger } from 'fastify'
import pg, { type Pool, type QueryResult, type QueryResultRow } from 'pg'

/** A request that needs the database while it cannot answer: 503 with Retry-After, never a 500. */
export class DatabaseUnavailableError extends Error {
  readonly statusCode = 503
  readonly code = 'DATABASE_UNAVAILABLE'
  /** The message is written for clients: it names no host, user or password. */
  readonly expose = true
  readonly headers: Record<string, string>

  constructor (detail: string, retryAfterSeconds: number) {
    super(detail)
    this.name = 'DatabaseUnavailableError'
    this.headers = { 'retry-after': String(retryAfterSeconds) }
  }
}

const UNREACHABLE = 'The database is unavailable; retry after the delay in Retry-After'
const POOL_BUSY = 'Every database connection is busy; retry after the delay in Retry-After'

/** Network errors, and SQLSTATEs for a connection that failed, a server shutting down or starting, or one with no room. */
const connectionErrorCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ENOENT', 'EHOSTUNREACH', 'ENETUNREACH', '57P01', '57P02', '57P03', '53300'])

/**
 * Whether a query failed because the database could not be reached or answer, rather than because
 * of the query: pg reports a lost connection and its own timeouts by message only.
 */
export function isConnectionFailure (error: unknown): boolean {
  const { code, message = '' } = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown, message?: string }
  if (typeof code === 'string' && (connectionErrorCodes.has(code) || code.startsWith('08'))) return true
  return /Connection terminated|Query read timeout|timeout exceeded when trying to connect|Client has encountered a connection error|connection timeout/i.test(message)
}

/**
 * Runs one statement with its parameters. A named one is prepared once per connection, then only
 * executed: PostgreSQL parses and plans it once rather than for every request.
 */
export type Query = <Row extends QueryResultRow>(text: string, values: unknown[], name?: string) => Promise<QueryResult<Row>>

export interface DatabaseAvailabilityOptions {
  pool: Pool
  /** How long a check may take before the database counts as unreachable. */
  timeoutMs: number
  /** How long a query may be pending before the database is checked. */
  suspectAfterMs: number
  /** How often the database is checked while it is unreachable. */
  recheckEveryMs: number
  retryAfterSeconds: number
  log: FastifyBaseLogger
}

export interface DatabaseAvailability {
  /** False from the moment a check finds the database unreachable until one finds it back. */
  readonly available: boolean
  /**
   * Runs `work`, which needs the database. While it is known to be unreachable, refuses at once;
   * if it turns out to be unreachable while `work` waits, refuses then. Either way with a
   * DatabaseUnavailableError, as when `work` itself fails to reach it.
   */
  guard: <T>(work: () => Promise<T>) => Promise<T>
  /** The pool's query, guarded. */
  query: Query
  /** Checks the database now; concurrent callers share one check. */
  check: () => Promise<boolean>
  /** Stops checking. */
  close: () => void
}

/**
 * What the app knows about the database being reachable, from a `SELECT 1` on a connection of its
 * own (outside the pool, so a pool full of slow queries is not taken for an outage and a pool full
 * of frozen ones does not hide one). A query is never cut short for being slow: only a failed check
 * ends the requests waiting on the database.
 */
export function databaseAvailability ({ pool, timeoutMs, suspectAfterMs, recheckEveryMs, retryAfterSeconds, log }: DatabaseAvailabilityOptions): DatabaseAvailability {
  let available = true
  let inFlight: Promise<boolean> | undefined
  let recheck: NodeJS.Timeout | undefined
  let closed = false
  // Guarded work still waiting: how to end each, and when it began, oldest first (a Map keeps
  // insertion order). Not a race against one shared outage promise: each race would leave a
  // reaction on it, holding that work's result, until an outage.
  const waiting = new Map<(error: Error) => void, number>()
  // One timer watches the oldest waiting work, rather than one per query.
  let watchdog: NodeJS.Timeout | undefined
  let lastSuspectedAt = -Infinity

  async function ask (): Promise<boolean> {
    const client = new pg.Client({ ...pool.options, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs })
    client.on('error', () => {})
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
    })
    try {
      await Promise.race([client.connect().then(() => client.query('SELECT 1')), deadline])
      return true
    } catch (error) {
      log.debug({ code: (error as { code?: unknown }).code }, 'database availability check failed')
      return false
    } finally {
      clearTimeout(timer)
      client.end().catch(() => {})
    }
  }

  function settle (reachable: boolean): void {
    if (reachable && !available) {
      available = true
      clearInterval(recheck)
      log.info('the database is reachable again: requests that need it are served')
    } else if (!reachable && available) {
      available = false
      log.warn('the database is unreachable: requests that need it get 503 until it answers again')
      const error = new DatabaseUnavailableError(UNREACHABLE, retryAfterSeconds)
      for (const fail of waiting.keys()) fail(error)
      waiting.clear()
      if (!closed) recheck = setInterval(() => { check().catch(() => {}) }, recheckEveryMs).unref()
    }
  }

  let lastPassedAt = -Infinity
  /** A check, or the last one's answer if it passed within `suspectAfterMs`: many waiting requests cost one check. */
  function check (): Promise<boolean> {
    if (available && performance.now() - lastPassedAt < suspectAfterMs) return Promise.resolve(true)
    inFlight ??= ask().then((reachable) => {
      if (reachable) lastPassedAt = performance.now()
      settle(reachable)
      return reachable
    }).finally(() => { inFlight = undefined })
    return inFlight
  }

  /**
   * Work still waiting after `suspectAfterMs` is what an unreachable database looks like, and what
   * a slow query looks like: a check tells them apart, repeated every `suspectAfterMs` while it waits.
   */
  function watchOldest (): void {
    if (watchdog !== undefined) return
    const oldest = waiting.values().next().value
    if (oldest === undefined) return
    const due = Math.max(oldest, lastSuspectedAt) + suspectAfterMs
    watchdog = setTimeout(() => {
      watchdog = undefined
      const now = performance.now()
      const first = waiting.values().next().value
      if (first !== undefined && now - first >= suspectAfterMs) {
        lastSuspectedAt = now
        check().catch(() => {})
      }
      watchOldest()
    }, Math.max(0, due - performance.now())).unref()
  }

  async function guard<T> (work: () => Promise<T>): Promise<T> {
    if (!available) throw new DatabaseUnavailableError(UNREACHABLE, retryAfterSeconds)
    try {
      const done = work()
      return await new Promise<T>((resolve, reject) => {
        waiting.set(reject, performance.now())
        watchOldest()
        done.then(
          (value) => { waiting.delete(reject); resolve(value) },
          (error: unknown) => { waiting.delete(reject); reject(error) }
        )
      })
    } catch (error) {
      if (error instanceof DatabaseUnavailableError || !isConnectionFailure(error)) throw error
      // Also the pool's own timeout: either no connection could be made, or every one was busy.
      const reachable = await check()
      throw new DatabaseUnavailableError(reachable ? POOL_BUSY : UNREACHABLE, retryAfterSeconds)
    }
  }

  return {
    get available () { return available },
    guard,
    query: (text, values, name) => guard(() => name === undefined ? pool.query(text, values) : pool.query({ name, text, values })),
    check,
    close () {
      closed = true
      clearInterval(recheck)
      clearTimeout(watchdog)
      watchdog = undefined
    }
  }
}
