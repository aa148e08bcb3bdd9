import type { FastifyBaseLogger } from 'fastify'
import pg, { type Pool, type QueryConfig, type QueryResult, type QueryResultRow } from 'pg'
import { within } from '../async/within.js'

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

/**
 * Network errors, and SQLSTATEs for a server shutting down or starting, one with no room, or one
 * that refuses the app's role or database: each means the database cannot be used, whatever the
 * query. Described for monitors: pg's own messages may carry host names and users.
 */
const connectionFailures: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection reset',
  ETIMEDOUT: 'connection timed out',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  ENOENT: 'socket not found',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  '57P01': 'database is shutting down',
  '57P02': 'database is shutting down',
  '57P03': 'database is starting up',
  53300: 'too many connections',
  '28P01': 'authentication failed',
  28000: 'authentication failed',
  '3D000': 'database does not exist'
}

/** pg reports a lost connection and its own timeouts by message only. */
const connectionFailureMessages: Array<[RegExp, string]> = [
  [/timeout exceeded when trying to connect|connection timeout/i, 'timed out waiting for a connection'],
  [/Query read timeout/i, 'query timed out'],
  [/Connection terminated|Client has encountered a connection error/i, 'connection lost']
]

/**
 * The kind of failure when a query failed because the database could not be reached or answer,
 * rather than because of the query; undefined otherwise.
 */
function connectionFailure (error: unknown): string | undefined {
  const { code, message = '' } = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown, message?: string }
  if (typeof code === 'string' && connectionFailures[code] !== undefined) return connectionFailures[code]
  if (typeof code === 'string' && code.startsWith('08')) return 'connection failure'
  return connectionFailureMessages.find(([pattern]) => pattern.test(message))?.[1]
}

/** Whether a query failed because the database could not be reached or answer, rather than because of the query. */
export function isConnectionFailure (error: unknown): boolean {
  return connectionFailure(error) !== undefined
}

export interface DatabaseCheck {
  ok: boolean
  /** How long `SELECT 1` took, or how long was waited before giving up. */
  responseTimeMs: number
  /** When the check started (ISO 8601). */
  time: string
  /** The kind of failure, for monitors: never a host, user or password. */
  failure?: string
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
  /** Sees every check's answer once (however many callers share it). */
  onAnswer?: (check: DatabaseCheck) => void
}

export interface DatabaseAvailability {
  /**
   * What the last check found: false from the moment one finds the database unreachable until one
   * finds it back. Costs nothing to read; `check()` asks the database.
   */
  readonly available: boolean
  /**
   * Runs `work`, which needs the database. While it is known to be unreachable, refuses at once;
   * if it turns out to be unreachable while `work` waits, refuses then. Either way with a
   * DatabaseUnavailableError, as when `work` itself fails to reach it.
   */
  guard: <T>(work: () => Promise<T>) => Promise<T>
  /** The pool's query, guarded. */
  query: Query
  /**
   * `SELECT 1` now, answered within `timeoutMs` whatever the database does; its answer is what
   * `available` says from then on. Concurrent callers share the one check in flight.
   */
  check: () => Promise<DatabaseCheck>
  /** Stops checking. */
  close: () => void
}

/**
 * What the app knows about the database being reachable: one check, `SELECT 1`, whose every
 * answer decides both readiness and whether requests that need the database are served, so the
 * two never disagree. The check runs on a pooled connection while the pool has room for one, and
 * otherwise on a connection of its own: a pool full of slow queries is not taken for an outage,
 * and a pool full of frozen ones does not hide one. A query is never cut short for being slow:
 * only a failed check ends the requests waiting on the database.
 */
export function databaseAvailability ({ pool, timeoutMs, suspectAfterMs, recheckEveryMs, retryAfterSeconds, log, onAnswer = () => {} }: DatabaseAvailabilityOptions): DatabaseAvailability {
  let available = true
  let inFlight: Promise<DatabaseCheck> | undefined
  let recheck: NodeJS.Timeout | undefined
  let closed = false
  // Guarded work still waiting: how to end each, and when it began, oldest first (a Map keeps
  // insertion order). Not a race against one shared outage promise: each race would leave a
  // reaction on it, holding that work's result, until an outage.
  const waiting = new Map<(error: Error) => void, number>()
  // One timer watches the oldest waiting work, rather than one per query.
  let watchdog: NodeJS.Timeout | undefined
  let lastSuspectedAt = -Infinity
  let lastPassedAt = -Infinity

  async function selectOne (): Promise<void> {
    if (pool.idleCount > 0 || pool.totalCount < (pool.options.max ?? 10)) {
      // pg reads a per-query query_timeout; @types/pg does not declare it.
      await pool.query({ text: 'SELECT 1', query_timeout: timeoutMs } as QueryConfig)
      return
    }
    const client = new pg.Client({ ...pool.options, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs })
    client.on('error', () => {})
    try {
      await client.connect()
      await client.query('SELECT 1')
    } finally {
      client.end().catch(() => {})
    }
  }

  function settle (answer: DatabaseCheck): void {
    onAnswer(answer)
    if (answer.ok) lastPassedAt = performance.now()
    if (answer.ok && !available) {
      available = true
      clearInterval(recheck)
      log.info('the database is reachable again: requests that need it are served')
    } else if (!answer.ok && available) {
      available = false
      log.warn({ failure: answer.failure }, 'the database is unreachable: requests that need it get 503 until it answers again')
      const error = new DatabaseUnavailableError(UNREACHABLE, retryAfterSeconds)
      for (const fail of waiting.keys()) fail(error)
      waiting.clear()
      if (!closed) recheck = setInterval(() => { check().catch(() => {}) }, recheckEveryMs).unref()
    }
  }

  function check (): Promise<DatabaseCheck> {
    if (inFlight !== undefined) return inFlight
    const started = performance.now()
    const time = new Date().toISOString()
    const elapsed = () => Math.round((performance.now() - started) * 1000) / 1000
    const query = selectOne()
    const answer = within(query.then(() => ({ ok: true, responseTimeMs: elapsed(), time })), timeoutMs, () => {
      throw new Error(`no answer within ${timeoutMs} ms`)
    }).catch((error: unknown): DatabaseCheck => {
      const failure = connectionFailure(error) ?? (error instanceof Error && error.message.startsWith('no answer within') ? error.message : databaseError(error))
      log.warn({ failure, code: (error as { code?: unknown }).code }, 'database check failed')
      return { ok: false, responseTimeMs: elapsed(), time, failure }
    }).then((answered) => {
      settle(answered)
      return answered
    })
    // A check past its deadline is a failure for whoever joins it until its query settles: the
    // database has already failed to answer in time.
    inFlight = answer
    query.catch(() => {}).finally(() => { if (inFlight === answer) inFlight = undefined })
    return answer
  }

  /** Whether the database answers: a check, or the last one's answer if it passed within `suspectAfterMs`, so many waiting requests cost one check. */
  async function reachable (): Promise<boolean> {
    if (available && performance.now() - lastPassedAt < suspectAfterMs) return true
    return (await check()).ok
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
        reachable().catch(() => {})
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
      throw new DatabaseUnavailableError(await reachable() ? POOL_BUSY : UNREACHABLE, retryAfterSeconds)
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

function databaseError (error: unknown): string {
  const { code } = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown }
  return typeof code === 'string' ? `database error ${code}` : 'database error'
}
