import type { Query } from '../database/availability.js'
import type { NewUser, User } from './user.js'
import { emailKey } from './email-key.js'
import { normalizePassword } from './password-policy.js'

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
  /**
   * Sets a new password if `current` is the user's password, raises the token version and ends
   * every sign-in of the user, all in one statement. False when `current` is wrong.
   */
  changePassword: (id: string, current: string, next: string) => Promise<boolean>
}

const columns = 'id, email, full_name, is_active, created_at'

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

  return {
    async create ({ email, password, full_name: fullName }) {
      const { hash } = await loadArgon2()
      const passwordHash = await hash(normalizePassword(password), hashOptions)
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
        `SELECT u.id, u.email, u.full_name, u.is_active, u.created_at, u.token_version, s.min_access_generation
         FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.id = $1 AND s.expires_at > now() AND s.token_version = u.token_version`,
        [sessionId],
        bySessionStatement
      )
      if (rows[0] === undefined) return null
      const { token_version: tokenVersion, min_access_generation: minGeneration, ...user } = rows[0]
      return { user, tokenVersion, minGeneration }
    },

    async changePassword (id, current, next) {
      const { rows } = await query<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = $1', [id])
      if (rows[0] === undefined || !(await verifyPassword(rows[0].password_hash, current))) return false
      const { hash } = await loadArgon2()
      const passwordHash = await hash(normalizePassword(next), hashOptions)
      // Only if the password is still the one just verified: of two changes at once, one wins.
      const { rows: changed } = await query(
        `WITH changed AS (
           UPDATE users SET password_hash = $2, token_version = token_version + 1 WHERE id = $1 AND password_hash = $3 RETURNING id
         ), ended AS (
           DELETE FROM sessions WHERE user_id IN (SELECT id FROM changed)
         )
         SELECT id FROM changed`,
        [id, passwordHash, rows[0].password_hash]
      )
      return changed.length > 0
    }
  }
}
