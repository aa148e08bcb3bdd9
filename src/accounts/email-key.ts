/**
 * The one form of a username (an email) that accounts are looked up by and sign-in limits count
 * under: Unicode NFKC, then lower case, both in JavaScript. PostgreSQL's lower() and JavaScript's
 * toLowerCase() disagree on some letters, so the database never computes it for a lookup.
 */
export function emailKey (email: string): string {
  return email.normalize('NFKC').toLowerCase()
}
