import { createHash, randomBytes } from 'node:crypto'

/** 32 random bytes (256 bits), base64url: as hard to guess as the signing key. */
export function newToken (): string {
  return randomBytes(32).toString('base64url')
}

/**
 * What the database stores of a token: its SHA-256, looked up by equality, so the database never
 * holds a usable token and the app never compares tokens byte by byte.
 */
export function hashOf (token: string): Buffer {
  return createHash('sha256').update(token).digest()
}
