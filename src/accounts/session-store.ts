import type { Query } from '../database/availability.js'
import { hashOf, newToken } from './tokens.js'

/** A new pair's refresh token, and what the access token issued with it carries. */
export interface Issued {
  userId: string
  sessionId: string
  tokenVersion: number
  /** The sign-in's refresh count: access tokens carry it, and the sign-in can refuse older ones. */
  generation: number
  refreshToken: string
  /** Seconds until the refresh token expires unless used: the idle timeout, cut at the sign-in's end. */
  refreshExpiresIn: number
}

/** What presenting a refresh token came to. */
export type Rotation =
  /** The token was good, or a retry within the grace window: here is the new pair's refresh token. */
  | ({ outcome: 'rotated' } & Issued)
  /** The token had been used already, outside the grace window: its sign-in is now ended. */
  | { outcome: 'reused', userId: string, sessionId: string }
  /** Unknown, expired, ended, or its account deactivated or its password changed since. */
  | { outcome: 'invalid' }

/** A sign-in as its user sees it in their list. */
export interface SessionInfo {
  id: string
  created_at: Date
  last_used_at: Date
  /** When it ends whatever happens: refreshes cannot move it. */
  ends_at: Date
  /** When it ends unless refreshed before (the idle timeout). */
  expires_at: Date
  client_ip: string | null
  user_agent: string | null
}

/** Where a sign-in came from, as the server saw it. */
export interface SignInOrigin {
  clientIp: string
  userAgent: string | undefined
}

export interface SessionStore {
  /**
   * A new sign-in and its first refresh token, or null when the password changed since
   * `tokenVersion` was read (a sign-in racing a password change does not survive it). The user's
   * oldest sign-ins beyond the maximum end.
   */
  start: (userId: string, tokenVersion: number, origin: SignInOrigin) => Promise<Issued | null>
  /** Exchanges a refresh token for a new one; a token works once, or again within the grace window. */
  rotate: (refreshToken: string) => Promise<Rotation>
  /** Ends the sign-in the token belongs to, whether the token is current, used or expired; nothing if unknown. */
  end: (refreshToken: string) => Promise<void>
  /** The user's live sign-ins, newest first. */
  list: (userId: string) => Promise<SessionInfo[]>
  /** Ends one sign-in of the user: false when the user has no such sign-in. */
  endOne: (userId: string, sessionId: string) => Promise<boolean>
  /**
   * Ends every sign-in of the user: their refresh tokens and access tokens stop working at once.
   * The number ended.
   */
  endAll: (userId: string) => Promise<number>
}

export interface SessionStoreOptions {
  /** The idle timeout: a sign-in not refreshed for this long ends. */
  idleDays: number
  /** The absolute lifetime of a sign-in, which refreshes cannot extend. */
  lifetimeDays: number
  /** Sign-ins one user may hold; a new one ends the oldest beyond it. */
  maxPerUser: number
  /** How long after a refresh the same refresh token may be presented again (its answer was lost). */
  graceSeconds: number
}

/** Expired rows removed per sign-in or refresh. */
export const PRUNE_BATCH = 100

/** The columns every issuing statement returns, from its `touched` sessions row. */
const issuedColumns = `id AS session_id, user_id, token_version, access_generation AS generation,
  greatest(0, floor(extract(epoch FROM expires_at - now())))::integer AS expires_in`

interface IssuedRow { session_id: string, user_id: string, token_version: number, generation: number, expires_in: number }

const issued = (row: IssuedRow, refreshToken: string): Issued => ({
  userId: row.user_id,
  sessionId: row.session_id,
  tokenVersion: row.token_version,
  generation: row.generation,
  refreshToken,
  refreshExpiresIn: row.expires_in
})

/**
 * Sign-ins and their refresh tokens, in PostgreSQL so that any instance can refresh and a restart
 * loses nothing. Each statement is atomic on its own: two refreshes of one token cannot both win
 * outright, and a sign-in ended while one of its tokens is being rotated takes the new token with it.
 * Times are the database's (now()), so instances whose clocks differ agree.
 */
export function sessionStore (query: Query, { idleDays, lifetimeDays, maxPerUser, graceSeconds }: SessionStoreOptions): SessionStore {
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

  /** The next expiry of a sign-in being used now: the idle timeout, never past its end. */
  const nextExpiry = 'least(now() + make_interval(days => $3), s.ends_at)'

  return {
    async start (userId, tokenVersion, { clientIp, userAgent }) {
      const token = newToken()
      const { rows } = await query<IssuedRow>(
        `WITH touched AS (
           INSERT INTO sessions AS s (user_id, token_version, ends_at, expires_at, client_ip, user_agent)
           SELECT id, token_version, now() + make_interval(days => $4), least(now() + make_interval(days => $3), now() + make_interval(days => $4)), $5, $6
           FROM users WHERE id = $1 AND token_version = $2
           RETURNING *
         ), issued AS (
           INSERT INTO refresh_tokens (token_hash, session_id, expires_at) SELECT $7, id, expires_at FROM touched
         )
         SELECT ${issuedColumns} FROM touched`,
        [userId, tokenVersion, idleDays, lifetimeDays, clientIp, userAgent?.slice(0, 512) ?? null, hashOf(token)]
      )
      if (rows[0] === undefined) return null
      // The oldest sign-ins beyond the maximum end; the new one is the newest.
      await query(
        `DELETE FROM sessions WHERE user_id = $1 AND id NOT IN (
           SELECT id FROM sessions WHERE user_id = $1 ORDER BY created_at DESC, id = $3 DESC LIMIT $2)`,
        [userId, maxPerUser, rows[0].session_id]
      )
      await pruneExpired()
      return issued(rows[0], token)
    },

    async rotate (refreshToken) {
      const hash = hashOf(refreshToken)
      const replacement = newToken()
      // The row lock on the token decides between concurrent refreshes: the second waits, then finds
      // used_at set and matches nothing here. The sign-in must be live and still carry the account's
      // token version.
      const { rows } = await query<IssuedRow>(
        `WITH used AS (
           UPDATE refresh_tokens t SET used_at = now(), replaced_by = $2
           FROM sessions s JOIN users u ON u.id = s.user_id
           WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.expires_at > now()
             AND s.id = t.session_id AND s.expires_at > now() AND u.is_active AND u.token_version = s.token_version
           RETURNING t.session_id
         ), touched AS (
           UPDATE sessions s SET expires_at = ${nextExpiry}, last_used_at = now(), access_generation = access_generation + 1
           WHERE s.id IN (SELECT session_id FROM used)
           RETURNING *
         ), issued AS (
           INSERT INTO refresh_tokens (token_hash, session_id, expires_at) SELECT $2, id, expires_at FROM touched
         )
         SELECT ${issuedColumns} FROM touched`,
        [hash, hashOf(replacement), idleDays]
      )
      if (rows[0] !== undefined) {
        await pruneExpired()
        return { outcome: 'rotated', ...issued(rows[0], replacement) }
      }
      // Presented again within the grace window, and the pair it got is unused: most likely its
      // answer was lost. That pair is replaced: its refresh token counts as used, and access tokens
      // of older generations than the new one are refused.
      const { rows: retried } = await query<IssuedRow>(
        `WITH retried AS (
           SELECT t.token_hash, t.session_id, t.replaced_by FROM refresh_tokens t
           JOIN refresh_tokens r ON r.token_hash = t.replaced_by AND r.used_at IS NULL
           JOIN sessions s ON s.id = t.session_id JOIN users u ON u.id = s.user_id
           WHERE t.token_hash = $1 AND t.used_at > now() - make_interval(secs => $4) AND t.expires_at > now()
             AND s.expires_at > now() AND u.is_active AND u.token_version = s.token_version
           FOR UPDATE OF t, r
         ), replaced AS (
           UPDATE refresh_tokens r SET used_at = now() FROM retried WHERE r.token_hash = retried.replaced_by
         ), relinked AS (
           UPDATE refresh_tokens t SET replaced_by = $2 FROM retried WHERE t.token_hash = retried.token_hash
         ), touched AS (
           UPDATE sessions s SET expires_at = ${nextExpiry}, last_used_at = now(),
             access_generation = access_generation + 1, min_access_generation = access_generation + 1
           WHERE s.id IN (SELECT session_id FROM retried)
           RETURNING *
         ), issued AS (
           INSERT INTO refresh_tokens (token_hash, session_id, expires_at) SELECT $2, id, expires_at FROM touched
         )
         SELECT ${issuedColumns} FROM touched`,
        [hash, hashOf(replacement), idleDays, graceSeconds]
      )
      if (retried[0] !== undefined) return { outcome: 'rotated', ...issued(retried[0], replacement) }
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
    },

    async list (userId) {
      const { rows } = await query<SessionInfo>(
        `SELECT id, created_at, last_used_at, ends_at, expires_at, client_ip, user_agent FROM sessions
         WHERE user_id = $1 AND expires_at > now() ORDER BY created_at DESC, id`,
        [userId]
      )
      return rows
    },

    async endOne (userId, sessionId) {
      const { rowCount } = await query('DELETE FROM sessions WHERE id = $1 AND user_id = $2', [sessionId, userId])
      return (rowCount ?? 0) > 0
    },

    async endAll (userId) {
      const { rowCount } = await query('DELETE FROM sessions WHERE user_id = $1', [userId])
      return rowCount ?? 0
    }
  }
}
