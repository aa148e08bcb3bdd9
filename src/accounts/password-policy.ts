import { httpError } from '../http/http-error.js'

/**
 * NIST SP 800-63B-4 §3.1.1.2, for a password that is the only factor: at least 15 characters, at
 * least 64 allowed, no composition rules, and a check against passwords known to be common or
 * breached. Characters are Unicode code points after NFKC normalisation.
 */
export const PASSWORD_MIN_LENGTH = 15
export const PASSWORD_MAX_LENGTH = 128

/**
 * The most common passwords of public breach corpora (about 49,000), as @zxcvbn-ts/language-common
 * ships them: read from the package with the first new password, not at start-up, never from the network.
 */
let common: Promise<Set<string>> | undefined
const commonPasswords = () => (common ??= import('@zxcvbn-ts/language-common').then((module) => {
  // The production bundle loads the package's CommonJS build, whose exports arrive as `default`.
  const { dictionary } = (module as { default?: { dictionary: typeof module.dictionary } }).default ?? module
  return new Set(dictionary['passwords-common'] as string[])
}))

/** The form a password is hashed and verified in (NIST SP 800-63B-4: NFKC), so every way of typing it matches. */
export function normalizePassword (password: string): string {
  return password.normalize('NFKC')
}

/**
 * What is wrong with `password` as a new password for the account `email`, in words that say what
 * to do; undefined when it is acceptable. Registration, password change and password reset all
 * call this (through `assertAcceptablePassword`), so the rules are the same everywhere.
 */
export async function passwordProblem (password: string, email: string): Promise<string | undefined> {
  const normalized = normalizePassword(password)
  const length = [...normalized].length
  if (length < PASSWORD_MIN_LENGTH) {
    return `must have at least ${PASSWORD_MIN_LENGTH} characters (it has ${length}): a few unrelated words make a long password that is easy to remember`
  }
  if (length > PASSWORD_MAX_LENGTH) return `must have at most ${PASSWORD_MAX_LENGTH} characters (it has ${length})`
  const lower = normalized.toLowerCase()
  const listed = await commonPasswords()
  if (listed.has(lower) || listed.has(lower.replace(/\s+/gu, ''))) {
    return 'is on a list of common or breached passwords, which attackers try first: choose another one'
  }
  const localPart = email.slice(0, email.lastIndexOf('@')).normalize('NFKC').toLowerCase()
  if (localPart.length >= 3 && lower.includes(localPart)) return 'must not contain your email address\'s name: choose another one'
  return undefined
}

/**
 * Throws a 400 problem naming `field` (as a body validation error would) when `password` is not
 * acceptable for `email`: the single entry point of the password rules for every route that sets one.
 */
export async function assertAcceptablePassword (password: string, email: string, field = 'password'): Promise<void> {
  const problem = await passwordProblem(password, email)
  if (problem === undefined) return
  throw Object.assign(httpError(400, `The ${field.replaceAll('_', ' ')} ${problem}`), {
    validation: [{ instancePath: `/${field}`, params: {}, message: problem }],
    validationContext: 'body'
  })
}
