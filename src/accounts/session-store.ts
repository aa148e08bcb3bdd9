import type { Query } from '../database/availability.js'
import { hashOf, newToken } from './tokens.js'

/** What presenting a refresh token came to. */
export type Rotation =
  /** The token was good: here is its replacement, and whom it is for. */
  | { outcome: 'rotated', userId: string, tokenVersion: number, refreshToken: string }
  /** The token had been used already: its sign-in is now ended. */
  | { outcome: 'reused', userId: string, sessionId: string }
  /** Unknown, expired, ended, or its account deactivated or its password changed since. */
  | { outcome: 'invalid' }

export interface SessionStore {
  /**
   * A new sign-in and its first refresh token, or null when the password changed since
   * `tokenVersion` was read (a sign-in racing a password change does not survive it).
   */
  start: (userId: string, tokenVersion: number) => Promise<string | null>
  /** Exchanges a refresh token for a new one; a token works once. */
  rotate: (refreshToken: string) => Promise<Rotation>
  /** Ends the sign-in the token belongs to, whether the token is current, used or expired; nothing if unknown. */
  end: (refreshToken: string) => Promise<void>
}

/** Expired rows removed per sign-in or refresh. */
export const PRUNE_BATCH = 100

/**
 * Sign-ins and their refresh tokens, in PostgreSQL so that any instance can refresh and a restart
 * loses nothing. Each statement is atomic on its own: two refreshes of one token cannot both win,
 * and a sign-in ended while one of its tokens is being rotated takes the new token with it.
 */
export function sessionStore (query: Query, { refreshTokenDays }: { refreshTokenDays: number }): SessionStore {
  /**
   * Every sign-in and refresh removes up to PRUNE_BATCH expired rows while it adds one or two, so
   * the expired rows never pile up, and no timer has to run on every instance.
   * SKIP LOCKED lets instances pruning at once take different rows rather than wait for each other.
   */
  async function pruneExpired (): Promise<void> {
    await query(
      `WITH expired_sessions AS (
         DELETE FROM sessions WHERE id IN (
           SELECT id FROM sessions WHERE expires_at <= now() LIMIT $1 FOR UPDATE SKIP LOCKED)
       )
       DELETE FROM refresh_tokens WHERE token_hash IN (
         SELECT token_hash FROM refresh_tokens WHERE expires_at <= now() LIMIT $1 FOR UPDATE SKIP LOCKED)`,
      [PRUNE_BATCH]
    )
  }

  return {
    async start (userId, tokenVersion) {
      const token = newToken()
      const { rows } = await query<{ id: string }>(
        `WITH session AS (
           INSERT INTO sessions (user_id, token_version, expires_at)
           SELECT id, token_version, now() + make_interval(days => $3) FROM users WHERE id = $1 AND token_version = $2
           RETURNING id, expires_at
         )
         INSERT INTO refresh_tokens (token_hash, session_id, expires_at) SELECT $4, id, expires_at FROM session RETURNING session_id AS id`,
        [userId, tokenVersion, refreshTokenDays, hashOf(token)]
      )
      await pruneExpired()
      return rows.length === 0 ? null : token
    },

    async rotate (refreshToken) {
      const hash = hashOf(refreshToken)
      const replacement = newToken()
      // The row lock on the token decides between concurrent refreshes: the second waits, then finds
      // used_at set and matches nothing. The sign-in must still carry the account's token version.
      const { rows } = await query<{ user_id: string, token_version: number }>(
        `WITH used AS (
           UPDATE refresh_tokens t SET used_at = now()
           FROM sessions s JOIN users u ON u.id = s.user_id
           WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.expires_at > now()
             AND s.id = t.session_id AND u.is_active AND u.token_version = s.token_version
           RETURNING t.session_id, s.user_id, s.token_version
         ), extended AS (
           UPDATE sessions SET expires_at = now() + make_interval(days => $3) WHERE id IN (SELECT session_id FROM used)
         ), issued AS (
           INSERT INTO refresh_tokens (token_hash, session_id, expires_at)
           SELECT $2, session_id, now() + make_interval(days => $3) FROM used
         )
         SELECT user_id, token_version FROM used`,
        [hash, hashOf(replacement), refreshTokenDays]
      )
      const rotated = rows[0]
      if (rotated !== undefined) {
        await pruneExpired()
        return { outcome: 'rotated', userId: rotated.user_id, tokenVersion: rotated.token_version, refreshToken: replacement }
      }
      // An unexpired token that was used already: a copy is in someone else's hands, and there is
      // no telling whose is the legitimate one, so the whole sign-in ends.
      const { rows: ended } = await query<{ id: string, user_id: string }>(
        `DELETE FROM sessions WHERE id = (
           SELECT session_id FROM refresh_tokens WHERE token_hash = $1 AND used_at IS NOT NULL AND expires_at > now())
         RETURNING id, user_id`,
        [hash]
      )
      return ended[0] === undefined ? { outcome: 'invalid' } : { outcome: 'reused', userId: ended[0].user_id, sessionId: ended[0].id }
    },

    async end (refreshToken) {
      await query('DELETE FROM sessions WHERE id = (SELECT session_id FROM refresh_tokens WHERE token_hash = $1)', [hashOf(refreshToken)])
    }
  }
}
