import { createHash } from 'node:crypto'
import type { Query } from '../database/availability.js'

/** A key's count in its current window, and the milliseconds until that window ends. */
export interface Count {
  current: number
  ttl: number
}

export interface RateLimitCounts {
  /** Adds one to `key`'s count, starting a new window of `windowMs` if none is open. */
  increment: (key: string, windowMs: number) => Promise<Count>
  /** `key`'s count without changing it: 0 when no window is open. */
  read: (key: string) => Promise<Count>
  /** Whether any of `keys` has a window open. */
  anyOpen: (keys: string[]) => Promise<boolean>
}

/**
 * A limit's key in the shared table: its name, then a digest of what it counts per. The table keeps
 * a digest, not the values: every key has one size, and a password typed into the username field is
 * not stored as typed. A digest of an address can still be found by trying every address.
 */
export function countKey (name: string, ...parts: string[]): string {
  return `${name} ${digest(parts)}`
}

const digest = (parts: string[]) => createHash('sha256').update(parts.join('\0')).digest('base64url')

/**
 * The limits whose counts belong to one account (its guessing limits and the clients known to it):
 * they outlive any request by up to 30 days, so deleting the account deletes them.
 */
export const ACCOUNT_COUNT_NAMES = ['account', 'account-device', 'account-address', 'known-device', 'known-address'] as const

/**
 * The key of a count that belongs to the account `account` (its email key): the account's own
 * digest comes second, apart from the rest, so the account's counts can be found without knowing
 * its clients.
 */
export function accountCountKey (name: typeof ACCOUNT_COUNT_NAMES[number], account: string, ...parts: string[]): string {
  return parts.length === 0 ? `${name} ${accountDigest(account)}` : `${name} ${accountDigest(account)} ${digest(parts)}`
}

/** What the keys of an account's counts hold second (SQL: `split_part(key, ' ', 2)`). */
export function accountDigest (account: string): string {
  return digest([account])
}

/** The time left in a window, by the database's clock, so instances whose clocks differ agree. */
const ttl = 'greatest(0, ceil(extract(epoch FROM expires_at - now()) * 1000))::double precision AS ttl'

/**
 * Counts in the `rate_limits` table, shared by every instance on the database. One statement per
 * count: INSERT ... ON CONFLICT takes the row's lock, so concurrent attempts at any instance are
 * each counted once, and a window that has ended restarts at 1 in the same statement.
 */
export function rateLimitCounts (query: Query): RateLimitCounts {
  return {
    async increment (key, windowMs) {
      const { rows: [row] } = await query<Count>(
        `INSERT INTO rate_limits AS counted (key, count, expires_at)
         VALUES ($1, 1, now() + $2::double precision * interval '1 millisecond')
         ON CONFLICT (key) DO UPDATE SET
           count = CASE WHEN counted.expires_at <= now() THEN 1 ELSE counted.count + 1 END,
           expires_at = CASE WHEN counted.expires_at <= now() THEN excluded.expires_at ELSE counted.expires_at END
         RETURNING count AS current, ${ttl}`,
        [key, windowMs]
      )
      return row
    },
    async read (key) {
      const { rows: [row] } = await query<Count>(
        `SELECT count AS current, ${ttl} FROM rate_limits WHERE key = $1 AND expires_at > now()`,
        [key]
      )
      return row ?? { current: 0, ttl: 0 }
    },
    async anyOpen (keys) {
      const { rows } = await query('SELECT 1 FROM rate_limits WHERE key = ANY($1) AND expires_at > now() LIMIT 1', [keys])
      return rows.length > 0
    }
  }
}

/** Rows one DELETE removes at most, so each holds its locks briefly. */
const SWEEP_BATCH = 1000

/**
 * Deletes the rows whose window has ended, `batch` at a time until none is left; the number deleted.
 * Rows another transaction holds (a count being added) are skipped, so a sweep never waits for a
 * sign-in, and instances sweeping at once do not take each other's rows.
 */
export async function deleteExpiredCounts (query: Query, batch = SWEEP_BATCH): Promise<number> {
  let deleted = 0
  for (;;) {
    const { rowCount } = await query(
      `DELETE FROM rate_limits WHERE key IN (
         SELECT key FROM rate_limits WHERE expires_at <= now() LIMIT $1 FOR UPDATE SKIP LOCKED
       )`,
      [batch]
    )
    deleted += rowCount ?? 0
    if ((rowCount ?? 0) < batch) return deleted
  }
}
