import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit'
import type { Count, RateLimitCounts } from './counts.js'

type Callback = (error: Error | null, result?: Count) => void

/**
 * @fastify/rate-limit's `store` option on `counts`: a class it constructs once and asks for a child
 * per limit. Every limit shares the one table, as each limit's keys start with its name; `read` is
 * what `{ increment: false }` calls.
 */
export function rateLimitStore (counts: RateLimitCounts): FastifyRateLimitStoreCtor {
  return class PostgresRateLimitStore implements FastifyRateLimitStore {
    incr (key: string, callback: Callback, timeWindow: number): void {
      counts.increment(key, timeWindow).then((count) => callback(null, count), callback)
    }

    read (key: string, callback: Callback): void {
      counts.read(key).then((count) => callback(null, count), callback)
    }

    child (): FastifyRateLimitStore {
      return this
    }
  }
}
