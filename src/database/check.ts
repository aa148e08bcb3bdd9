import type { FastifyBaseLogger } from 'fastify'
import type { Pool, QueryConfig } from 'pg'

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
 * `SELECT 1` on a pooled connection, answered within `timeoutMs` whatever the database does.
 * Concurrent callers share the one query in flight and its answer, so a storm of probes costs
 * the pool at most one connection and each caller almost nothing. A query still pending at its
 * deadline is answered as a failure, and so is every caller that joins it after that, at once:
 * the database has already failed to answer in time. Once the query settles its result is
 * never reused. `onAnswer` sees each query's answer once.
 */
export function databaseCheck (pool: Pool, timeoutMs: number, log: FastifyBaseLogger, onAnswer: (check: DatabaseCheck) => void = () => {}): () => Promise<DatabaseCheck> {
  let inFlight: Promise<DatabaseCheck> | undefined

  async function probe (started: number, time: string): Promise<DatabaseCheck> {
    try {
      // pg reads a per-query query_timeout; @types/pg does not declare it.
      await pool.query({ text: 'SELECT 1', query_timeout: timeoutMs } as QueryConfig)
      return { ok: true, responseTimeMs: elapsedSince(started), time }
    } catch (error) {
      const failure = describeFailure(error)
      log.warn({ failure, code: (error as { code?: string }).code }, 'database check failed')
      return { ok: false, responseTimeMs: elapsedSince(started), time, failure }
    }
  }

  return function checkDatabase () {
    if (inFlight !== undefined) return inFlight
    const started = performance.now()
    const time = new Date().toISOString()
    const query = probe(started, time)
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<DatabaseCheck>((resolve) => {
      timer = setTimeout(() => resolve({ ok: false, responseTimeMs: elapsedSince(started), time, failure: `no answer within ${timeoutMs} ms` }), timeoutMs)
    })
    const answer = Promise.race([query, deadline]).then((check) => {
      onAnswer(check)
      return check
    })
    inFlight = answer
    query.finally(() => {
      clearTimeout(timer)
      if (inFlight === answer) inFlight = undefined
    })
    return answer
  }
}

function elapsedSince (started: number): number {
  return Math.round((performance.now() - started) * 1000) / 1000
}

const failureKinds: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connection timed out',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  '57P01': 'database is shutting down',
  '57P02': 'database is shutting down',
  '57P03': 'database is starting up',
  53300: 'too many connections',
  '28P01': 'authentication failed',
  28000: 'authentication failed',
  '3D000': 'database does not exist'
}

/** A monitor-safe description: pg's own messages may carry host names and users. */
function describeFailure (error: unknown): string {
  const { code, message = '' } = error as { code?: string, message?: string }
  if (code !== undefined && failureKinds[code] !== undefined) return failureKinds[code]
  if (/timeout/i.test(message)) return /connect/i.test(message) ? 'timed out waiting for a connection' : 'query timed out'
  if (/terminated|ended|closed/i.test(message)) return 'connection lost'
  return code === undefined ? 'database error' : `database error ${code}`
}
