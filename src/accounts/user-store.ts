import type { Query } from '../database/availability.js'
import type { NewUser, User } from './user.js'

/** A user with the version of their credentials: access tokens and sign-ins carry it. */
export interface VersionedUser {
  user: User
  /** Raised by every password change; anything issued at an older version is refused. */
  tokenVersion: number
}

export interface UserStore {
  /** The new user, or null when the email is taken in any letter case. */
  create: (user: NewUser) => Promise<User | null>
  /**
   * The user with this email and password, or null. An unknown email costs one password
   * verification too, so the answer's timing does not tell which emails have accounts.
   */
  authenticate: (email: string, password: string) => Promise<VersionedUser | null>
  findById: (id: string) => Promise<User | null>
  /** The user with this email in any letter case, or null. */
  findByEmail: (email: string) => Promise<User | null>
  findVersionedById: (id: string) => Promise<VersionedUser | null>
  /**
   * Sets a new password if `current` is the user's password, raises the token version and ends
   * every sign-in of the user, all in one statement. False when `current` is wrong.
   */
  changePassword: (id: string, current: string, next: string) => Promise<boolean>
  /**
   * Sets a new password without the current one (a password reset, which also proves the address),
   * ending every sign-in like a change. False when the account no longer exists.
   */
  resetPassword: (id: string, next: string) => Promise<boolean>
  /**
   * Deletes the account if `password` is its password, and with it everything that refers to it
   * (ON DELETE CASCADE), in one statement. The deleted user, or null when `password` is wrong.
   */
  delete: (id: string, password: string) => Promise<User | null>
}

const columns = 'id, email, full_name, is_active, email_verified_at IS NOT NULL AS email_verified, created_at'

/**
 * argon2id (the library's default algorithm) at OWASP's recommended minimum: 19 MiB, 2 passes, 1
 * lane. Written out rather than left to the library's defaults, which unknownUserHash must match.
 */
const hashOptions = { memoryCost: 19_456, timeCost: 2, parallelism: 1 }

/**
 * An unknown email is checked against this hash, made with hashOptions like real ones, so the
 * answer takes as long as for a wrong password. Its password is a random one nobody kept.
 */
export const unknownUserHash = '$argon2id$v=19$m=19456,t=2,p=1$QsC5XzxiGXWJLtZzldYlUA$aSHSsF1xVNBRHACjNzdN2J5SjOEbUs252Bb8pch1sLE'

export interface UserStoreOptions {
  /** Whether the lookup every signed-in request runs is a named, prepared statement. */
  preparedStatements: boolean
}

/** Users in PostgreSQL; passwords are hashed on libuv's thread pool rather than the event loop. */
export function userStore (query: Query, { preparedStatements }: UserStoreOptions): UserStore {
  const versionedByIdStatement = preparedStatements ? 'users.find-versioned-by-id' : undefined
  // Loaded with the first password, not at start-up: the native library costs memory and start-up
  // time from the moment it loads.
  let argon2: Promise<typeof import('@node-rs/argon2')> | undefined
  const loadArgon2 = () => (argon2 ??= import('@node-rs/argon2'))

  /** The user's password hash if `password` matches it, else null. */
  async function passwordHashIfMatches (id: string, password: string): Promise<string | null> {
    const { rows } = await query<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = $1', [id])
    const { verify } = await loadArgon2()
    return rows[0] !== undefined && await verify(rows[0].password_hash, password) ? rows[0].password_hash : null
  }

  /**
   * Sets the password hash, raises the token version (voiding every access token and mailed token
   * issued before) and ends every sign-in of the user, in one statement. With `currentHash`, only
   * while the password is still that one. `verifiesEmail`: the change proved the address is theirs.
   */
  async function replacePassword (id: string, passwordHash: string, { currentHash, verifiesEmail }: { currentHash: string | null, verifiesEmail: boolean }): Promise<boolean> {
    const { rows: changed } = await query(
      `WITH changed AS (
         UPDATE users SET password_hash = $2, token_version = token_version + 1,
           email_verified_at = CASE WHEN $4 THEN coalesce(email_verified_at, now()) ELSE email_verified_at END
         WHERE id = $1 AND ($3::text IS NULL OR password_hash = $3) RETURNING id
       ), ended AS (
         DELETE FROM sessions WHERE user_id IN (SELECT id FROM changed)
       )
       SELECT id FROM changed`,
      [id, passwordHash, currentHash, verifiesEmail]
    )
    return changed.length > 0
  }

  return {
    async create ({ email, password, full_name: fullName }) {
      const { hash } = await loadArgon2()
      const passwordHash = await hash(password, hashOptions)
      const { rows } = await query<User>(
        `INSERT INTO users (email, password_hash, full_name) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING RETURNING ${columns}`,
        [email, passwordHash, fullName]
      )
      return rows[0] ?? null
    },

    async authenticate (email, password) {
      const { rows } = await query<User & { password_hash: string, token_version: number }>(
        `SELECT ${columns}, password_hash, token_version FROM users WHERE lower(email) = lower($1)`,
        [email]
      )
      const found = rows[0]
      const { verify } = await loadArgon2()
      const matches = await verify(found?.password_hash ?? unknownUserHash, password)
      if (found === undefined || !matches) return null
      const { password_hash: _hash, token_version: tokenVersion, ...user } = found
      return { user, tokenVersion }
    },

    async findById (id) {
      const { rows } = await query<User>(`SELECT ${columns} FROM users WHERE id = $1`, [id])
      return rows[0] ?? null
    },

    async findByEmail (email) {
      const { rows } = await query<User>(`SELECT ${columns} FROM users WHERE lower(email) = lower($1)`, [email])
      return rows[0] ?? null
    },

    async findVersionedById (id) {
      const { rows } = await query<User & { token_version: number }>(`SELECT ${columns}, token_version FROM users WHERE id = $1`, [id], versionedByIdStatement)
      if (rows[0] === undefined) return null
      const { token_version: tokenVersion, ...user } = rows[0]
      return { user, tokenVersion }
    },

    async changePassword (id, current, next) {
      const currentHash = await passwordHashIfMatches(id, current)
      if (currentHash === null) return false
      const { hash } = await loadArgon2()
      // Only if the password is still the one just verified: of two changes at once, one wins.
      return replacePassword(id, await hash(next, hashOptions), { currentHash, verifiesEmail: false })
    },

    async resetPassword (id, next) {
      const { hash } = await loadArgon2()
      return replacePassword(id, await hash(next, hashOptions), { currentHash: null, verifiesEmail: true })
    },

    async delete (id, password) {
      const currentHash = await passwordHashIfMatches(id, password)
      if (currentHash === null) return null
      const { rows } = await query<User>(`DELETE FROM users WHERE id = $1 AND password_hash = $2 RETURNING ${columns}`, [id, currentHash])
      return rows[0] ?? null
    }
  }
}
