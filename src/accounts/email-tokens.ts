import type { Query } from '../database/availability.js'
import { hashOf, newToken } from './tokens.js'

/** What a mailed token is for; each has its own lifetime. */
export type EmailTokenPurpose = 'verify-email' | 'password-reset'

export interface EmailTokenStore {
  /**
   * A new token for the user, which voids the user's earlier tokens of this purpose; null when the
   * account does not exist (any more).
   */
  issue: (userId: string, purpose: EmailTokenPurpose, lifetimeMs: number) => Promise<string | null>
  /**
   * Uses the token up: the id of the user it was issued to, or null when it is unknown, of another
   * purpose, used, expired, or issued before the account's password last changed.
   */
  consume: (token: string, purpose: EmailTokenPurpose) => Promise<string | null>
  /**
   * The id of the user a good token was issued to, without using it up (so a new password can be
   * checked against the account before the token is spent); null when `consume` would refuse it.
   */
  holder: (token: string, purpose: EmailTokenPurpose) => Promise<string | null>
  /** Uses up a verification token and marks its user's address verified: true if it did. */
  verifyEmail: (token: string) => Promise<boolean>
}

/** Expired rows removed per token issued. */
const PRUNE_BATCH = 100

export interface EmailTokenStoreOptions {
  /** The clock expiry is judged by; tests move it. */
  now: () => Date
}

/**
 * Tokens sent by mail, in PostgreSQL. Each is single use (taken with DELETE ... RETURNING, so of
 * two requests with one token only one gets it) and carries the account's token version, which a
 * password change raises: every older token is void from then on.
 */
export function emailTokenStore (query: Query, { now }: EmailTokenStoreOptions): EmailTokenStore {
  // $1 the token's hash, $2 the time, $3 the purpose.
  const consumed = `DELETE FROM email_tokens t USING users u
     WHERE t.token_hash = $1 AND t.purpose = $3 AND u.id = t.user_id
     RETURNING t.user_id, t.expires_at > $2 AND t.token_version = u.token_version AS valid`

  return {
    async issue (userId, purpose, lifetimeMs) {
      const token = newToken()
      const issuedAt = now()
      const { rowCount } = await query(
        `WITH replaced AS (
           DELETE FROM email_tokens WHERE user_id = $1 AND purpose = $2
         ), pruned AS (
           DELETE FROM email_tokens WHERE token_hash IN (
             SELECT token_hash FROM email_tokens WHERE expires_at <= $4 LIMIT $6 FOR UPDATE SKIP LOCKED)
         )
         INSERT INTO email_tokens (token_hash, user_id, purpose, token_version, created_at, expires_at)
         SELECT $3, id, $2, token_version, $4, $5 FROM users WHERE id = $1`,
        [userId, purpose, hashOf(token), issuedAt, new Date(issuedAt.getTime() + lifetimeMs), PRUNE_BATCH]
      )
      return rowCount === 1 ? token : null
    },

    async consume (token, purpose) {
      const { rows } = await query<{ user_id: string }>(
        `WITH used AS (${consumed}) SELECT user_id FROM used WHERE valid`,
        [hashOf(token), now(), purpose]
      )
      return rows[0]?.user_id ?? null
    },

    async holder (token, purpose) {
      const { rows } = await query<{ user_id: string }>(
        `SELECT t.user_id FROM email_tokens t JOIN users u ON u.id = t.user_id
         WHERE t.token_hash = $1 AND t.purpose = $3 AND t.expires_at > $2 AND t.token_version = u.token_version`,
        [hashOf(token), now(), purpose]
      )
      return rows[0]?.user_id ?? null
    },

    async verifyEmail (token) {
      const { rows } = await query(
        `WITH used AS (${consumed})
         UPDATE users SET email_verified_at = coalesce(email_verified_at, $2)
         FROM used WHERE used.valid AND users.id = used.user_id RETURNING users.id`,
        [hashOf(token), now(), 'verify-email']
      )
      return rows.length > 0
    }
  }
}
