import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'

/** A password every test account uses: long, and on no list of common or breached passwords. */
export const testPassword = 'a long and unlisted passphrase 42'

export interface Account {
  email: string
  password: string
  full_name: string
}

let accounts = 0

/** A new account's registration, its email unique within the test file. */
export function newAccount (prefix = 'coach'): Account {
  accounts += 1
  return { email: `${prefix}${accounts}@example.com`, password: testPassword, full_name: `${prefix} ${accounts}` }
}

export function register (app: FastifyInstance, account: Account | Record<string, unknown>): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: '/api/auth/register', payload: account })
}

export interface TokenRequestOptions {
  remoteAddress?: string
  headers?: InjectOptions['headers']
}

/** A form-encoded request to the token endpoint, as OAuth clients send it. */
export function requestToken (app: FastifyInstance, fields: Record<string, string>, { remoteAddress = '127.0.0.1', headers = {} }: TokenRequestOptions = {}): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url: '/api/auth/token',
    remoteAddress,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: new URLSearchParams(fields).toString()
  })
}

/** The password grant. */
export function signIn (app: FastifyInstance, username: string, password: string, options?: TokenRequestOptions): Promise<LightMyRequestResponse> {
  return requestToken(app, { grant_type: 'password', username, password }, options)
}

/** The refresh_token grant. */
export function refresh (app: FastifyInstance, refreshToken: string, options?: TokenRequestOptions): Promise<LightMyRequestResponse> {
  return requestToken(app, { grant_type: 'refresh_token', refresh_token: refreshToken }, options)
}

export const bearer = (accessToken: string) => ({ authorization: `Bearer ${accessToken}` })

export interface SignedIn extends Account {
  id: string
  access_token: string
  refresh_token: string
}

/**
 * Registers `account` (a new one by default) and signs it in: its credentials, id and first token
 * pair. Registration answers 202 whether or not the address is new, so the id comes from /me.
 */
export async function signedIn (app: FastifyInstance, account: Account = newAccount()): Promise<SignedIn> {
  const registered = await register(app, account)
  if (registered.statusCode !== 202) throw new Error(`registering ${account.email} answered ${registered.statusCode}: ${registered.body}`)
  const tokens = await signIn(app, account.email, account.password)
  if (tokens.statusCode !== 200) throw new Error(`signing in ${account.email} answered ${tokens.statusCode}: ${tokens.body}`)
  const { access_token: accessToken, refresh_token: refreshToken } = tokens.json()
  const me = await app.inject({ method: 'GET', url: '/api/users/me', headers: bearer(accessToken) })
  return { ...account, id: me.json().id, access_token: accessToken, refresh_token: refreshToken }
}

/** The same over real HTTP, for a server in its own process at `base` (e.g. `http://127.0.0.1:8000`). */
export async function signedInOverHttp (base: string, account: Account = newAccount()): Promise<SignedIn> {
  const registered = await fetch(`${base}/api/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(account) })
  if (registered.status !== 202) throw new Error(`registering ${account.email} answered ${registered.status}: ${await registered.text()}`)
  const tokens = await fetch(`${base}/api/auth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'password', username: account.email, password: account.password }) })
  if (tokens.status !== 200) throw new Error(`signing in ${account.email} answered ${tokens.status}: ${await tokens.text()}`)
  const { access_token: accessToken, refresh_token: refreshToken } = await tokens.json() as { access_token: string, refresh_token: string }
  const me = await fetch(`${base}/api/users/me`, { headers: bearer(accessToken) })
  return { ...account, id: (await me.json() as { id: string }).id, access_token: accessToken, refresh_token: refreshToken }
}
