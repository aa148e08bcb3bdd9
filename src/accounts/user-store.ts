import type { Query } from '../database/availability.js'
import type { NewUser, User } from './user.js'
import { emailKey } from './email-key.js'
import { normalizePassword } from './password-policy.js'
import { ACCOUNT_COUNT_NAMES, accountDigest } from '../rate-limits/counts.js'
import { DELETE_TEAMS_OF_ONE } from '../teams/account-deletion.js'

/** A user with the version of their credentials: access tokens and sign-ins carry it. */
export interface VersionedUser {
  user: User
  /** Raised by every password change; anything issued at an older version is refused. */
  tokenVersion: number
}

/** What an access token's lookup finds: the user, and the sign-in the token belongs to. */
export interface SignedInUser extends VersionedUser {
  /** Access tokens of the sign-in older than this generation are refused. */
  minGeneration: number
}

export interface UserStore {
  /** The new user, or null when the email is taken in any letter case. */
  create: (user: NewUser) => Promise<User | null>
  /**
   * The user with this email and password, or null. An unknown email costs one password
   * verification too, so the answer's timing does not tell which emails have accounts.
   */
  authenticate: (email: string, password: string) => Promise<VersionedUser | null>
  /**
   * The user of the live sign-in `sessionId`, or null when it has ended: the one lookup each
   * signed-in request runs.
   */
  findBySession: (sessionId: string) => Promise<SignedInUser | null>
  findById: (id: string) => Promise<User | null>
  /** The user with this email (by its one normal form, as sign-in finds it), or null. */
  findByEmail: (email: string) => Promise<User | null>
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
   * (ON DELETE CASCADE), its limit counts and the teams it is the only member of, in one
   * statement. The deleted user, or null when `password` is wrong.
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
  const bySessionStatement = preparedStatements ? 'users.find-by-session' : undefined
  // Loaded with the first password, not at start-up: the native library costs memory and start-up
  // time from the moment it loads.
  let argon2: Promise<typeof import('@node-rs/argon2')> | undefined
  const loadArgon2 = () => (argon2 ??= import('@node-rs/argon2'))

  /**
   * Passwords are hashed in NFKC form. A hash made before that was of the password as typed, so a
   * password NFKC changes is tried as typed too when its normal form does not match.
   */
  async function verifyPassword (passwordHash: string, password: string): Promise<boolean> {
    const { verify } = await loadArgon2()
    const normalized = normalizePassword(password)
    if (await verify(passwordHash, normalized)) return true
    return normalized !== password && verify(passwordHash, password)
  }

  async function hashPassword (password: string): Promise<string> {
    const { hash } = await loadArgon2()
    return hash(normalizePassword(password), hashOptions)
  }

  /** The user's password hash and email key if `password` matches the hash, else null. */
  async function ifPasswordMatches (id: string, password: string): Promise<{ password_hash: string, email_key: string } | null> {
    const { rows } = await query<{ password_hash: string, email_key: string }>('SELECT password_hash, email_key FROM users WHERE id = $1', [id])
    return rows[0] !== undefined && await verifyPassword(rows[0].password_hash, password) ? rows[0] : null
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
      const passwordHash = await hashPassword(password)
      const { rows } = await query<User>(
        `INSERT INTO users (email, email_key, password_hash, full_name) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING RETURNING ${columns}`,
        [email, emailKey(email), passwordHash, fullName]
      )
      return rows[0] ?? null
    },

    async authenticate (email, password) {
      const { rows } = await query<User & { password_hash: string, token_version: number }>(
        `SELECT ${columns}, password_hash, token_version FROM users WHERE email_key = $1`,
        [emailKey(email)]
      )
      const found = rows[0]
      const matches = await verifyPassword(found?.password_hash ?? unknownUserHash, password)
      if (found === undefined || !matches) return null
      const { password_hash: _hash, token_version: tokenVersion, ...user } = found
      return { user, tokenVersion }
    },

    async findBySession (sessionId) {
      const { rows } = await query<User & { token_version: number, min_access_generation: number }>(
        `SELECT u.id, u.email, u.full_name, u.is_active, u.email_verified_at IS NOT NULL AS email_verified, u.created_at,
           u.token_version, s.min_access_generation
         FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.id = $1 AND s.expires_at > now() AND s.token_version = u.token_version`,
        [sessionId],
        bySessionStatement
      )
      if (rows[0] === undefined) return null
      const { token_version: tokenVersion, min_access_generation: minGeneration, ...user } = rows[0]
      return { user, tokenVersion, minGeneration }
    },

    async findById (id) {
      const { rows } = await query<User>(`SELECT ${columns} FROM users WHERE id = $1`, [id])
      return rows[0] ?? null
    },

    async findByEmail (email) {
      const { rows } = await query<User>(`SELECT ${columns} FROM users WHERE email_key = $1`, [emailKey(email)])
      return rows[0] ?? null
    },

    async changePassword (id, current, next) {
      const found = await ifPasswordMatches(id, current)
      if (found === null) return false
      // Only if the password is still the one just verified: of two changes at once, one wins.
      return replacePassword(id, await hashPassword(next), { currentHash: found.password_hash, verifiesEmail: false })
    },

    async resetPassword (id, next) {
      return replacePassword(id, await hashPassword(next), { currentHash: null, verifiesEmail: true })
    },

    async delete (id, password) {
      const found = await ifPasswordMatches(id, password)
      if (found === null) return null
      // The account's guessing limits and known clients live in rate_limits, keyed by its email key
      // rather than a foreign key: they go in the same statement.
      const { rows } = await query<User>(
        `WITH deleted AS (
           DELETE FROM users WHERE id = $1 AND password_hash = $2 RETURNING ${columns}
         ), counts AS (
           DELETE FROM rate_limits WHERE split_part(key, ' ', 2) = $3 AND split_part(key, ' ', 1) = ANY($4)
             AND EXISTS (SELECT 1 FROM deleted)
         ), teams_of_one AS (
           ${DELETE_TEAMS_OF_ONE} AND EXISTS (SELECT 1 FROM deleted)
         )
         SELECT * FROM deleted`,
        [id, found.password_hash, accountDigest(found.email_key), ACCOUNT_COUNT_NAMES]
      )
      return rows[0] ?? null
    }
  }
}
