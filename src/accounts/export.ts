import type { Query } from '../database/availability.js'

/**
 * Every table that holds data about a user, and the user's rows in it ($1 is the user's id): a
 * feature that adds such a table adds it here, and test/integration/account-data.test.ts fails
 * until it does. Secrets stay out: the password hash, token hashes, and the bodies of pending mail
 * (their links carry tokens).
 */
export const exportedTables: Record<string, string> = {
  users: 'SELECT id, email, full_name, is_active, email_verified_at, created_at FROM users WHERE id = $1',
  sessions: `SELECT id, created_at, last_used_at, ends_at, expires_at, client_ip, user_agent FROM sessions
             WHERE user_id = $1 ORDER BY created_at`,
  refresh_tokens: `SELECT t.session_id, t.expires_at, t.used_at FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
                   WHERE s.user_id = $1 ORDER BY t.expires_at`,
  email_tokens: 'SELECT purpose, created_at, expires_at FROM email_tokens WHERE user_id = $1 ORDER BY created_at',
  mail_outbox: 'SELECT recipient, subject, created_at, attempts FROM mail_outbox WHERE user_id = $1 ORDER BY created_at'
}

/** The user's rows of every table, read in one statement, so from one snapshot of the database. */
export async function exportUserData (query: Query, userId: string): Promise<Record<string, Array<Record<string, unknown>>>> {
  const parts = Object.entries(exportedTables)
    .map(([table, select]) => `'${table}', (SELECT coalesce(json_agg(row_to_json(r)), '[]'::json) FROM (${select}) r)`)
  const { rows } = await query<{ data: Record<string, Array<Record<string, unknown>>> }>(`SELECT json_build_object(${parts.join(', ')}) AS data`, [userId])
  return rows[0].data
}
