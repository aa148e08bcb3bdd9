import { createHash } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import pg from 'pg'
import t from 'tap'
import { buildApp, captureLogs, startSharedDatabase } from '../helper.js'
import { newAccount, refresh, register, requestToken, signedIn, signIn } from '../accounts.js'
import { PRUNE_BATCH } from '../../src/accounts/session-store.js'

const { database, env } = await startSharedDatabase(t)

async function me (app: FastifyInstance, accessToken: string) {
  return app.inject({ method: 'GET', url: '/api/users/me', headers: { authorization: `Bearer ${accessToken}` } })
}

async function logout (app: FastifyInstance, refreshToken: string) {
  return app.inject({ method: 'POST', url: '/api/auth/logout', payload: { refresh_token: refreshToken } })
}

async function changePassword (app: FastifyInstance, accessToken: string, current: string, next: string) {
  return app.inject({
    method: 'POST',
    url: '/api/users/me/password',
    headers: { authorization: `Bearer ${accessToken}` },
    payload: { current_password: current, new_password: next }
  })
}

const hashOf = (token: string) => createHash('sha256').update(token).digest()
const invalidGrant = { error: 'invalid_grant', error_description: String }

t.test('sign-in returns a refresh token; a refresh returns a new pair, and the new access token works', async (t) => {
  const logs = captureLogs()
  const app = await buildApp(t, env(), { logs })
  const account = newAccount()
  await register(app, account)

  const signedIn = await signIn(app, account.email, account.password)
  t.equal(signedIn.statusCode, 200)
  const first = signedIn.json()
  const user = (await me(app, first.access_token)).json()
  t.match(first, { token_type: 'bearer', expires_in: 1800, refresh_token: /^[\w-]{43}$/, refresh_token_expires_in: 14 * 24 * 3600 })

  const refreshed = await refresh(app, first.refresh_token)
  t.equal(refreshed.statusCode, 200)
  t.equal(refreshed.headers['cache-control'], 'no-store')
  const second = refreshed.json()
  t.match(second, { token_type: 'bearer', expires_in: 1800, refresh_token_expires_in: 14 * 24 * 3600 })
  t.not(second.refresh_token, first.refresh_token, 'a new refresh token')
  t.same((await me(app, second.access_token)).json(), user, 'the refreshed access token signs the user in')
  t.equal((await refresh(app, second.refresh_token)).statusCode, 200, 'the new refresh token works in turn')

  const { rows } = await app.pg.query('SELECT token_hash FROM refresh_tokens WHERE token_hash = $1 OR token_hash = $2', [first.refresh_token, hashOf(first.refresh_token)])
  t.equal(rows.length, 1, 'only the hash is stored')
  t.notMatch(logs.text(), first.refresh_token, 'refresh tokens are never logged')
  t.notMatch(logs.text(), second.refresh_token)
})

t.test('a refresh token used twice ends its whole sign-in, with a warning naming the user, never the token', async (t) => {
  const logs = captureLogs()
  // Without a grace window: the second refresh is then plain reuse.
  const app = await buildApp(t, env({ REFRESH_GRACE_SECONDS: '0' }), { logs })
  const session = await signedIn(app)
  const other = (await signIn(app, session.email, session.password)).json()

  const legitimate = (await refresh(app, session.refresh_token)).json()
  const stolen = await refresh(app, session.refresh_token)
  t.equal(stolen.statusCode, 400)
  t.match(stolen.headers['content-type'], /^application\/json/)
  t.equal(stolen.headers['cache-control'], 'no-store')
  t.match(stolen.json(), { error: 'invalid_grant', error_description: /already used/ })

  t.match((await refresh(app, legitimate.refresh_token)).json(), invalidGrant, 'the newest token of that sign-in is revoked too')
  t.equal((await refresh(app, other.refresh_token)).statusCode, 200, 'another sign-in of the same user goes on')

  const warnings = logs.lines.filter((line) => line.level === 40 && /presented again/.test(String(line.msg)))
  t.equal(warnings.length, 1)
  t.match(warnings[0], { userId: session.id, sessionId: String })
  t.notMatch(logs.text(), session.refresh_token, 'the token is not logged')
})

t.test('two refreshes of the same token at the same moment: exactly one succeeds, at two instances', async (t) => {
  // Without a grace window: the second refresh is then plain reuse.
  const [first, second] = [await buildApp(t, env({ REFRESH_GRACE_SECONDS: '0' })), await buildApp(t, env({ REFRESH_GRACE_SECONDS: '0' }))]
  const session = await signedIn(first)

  // Hold the token's row so both refreshes are waiting on it when it is let go.
  const holder = new pg.Client({ connectionString: database.url })
  await holder.connect()
  t.teardown(() => holder.end())
  await holder.query('BEGIN')
  await holder.query('SELECT 1 FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE', [hashOf(session.refresh_token)])
  const racing = Promise.all([refresh(first, session.refresh_token), refresh(second, session.refresh_token)])
  // Asked outside the holder's transaction, which would see one snapshot of the activity throughout.
  const waiting = async () => {
    const { rows } = await first.pg.query<{ count: string }>(
      "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%UPDATE refresh_tokens t SET used_at%'")
    return Number(rows[0].count)
  }
  while (await waiting() < 2) await new Promise((resolve) => setImmediate(resolve))
  await holder.query('COMMIT')

  const responses = await racing
  t.same(responses.map((response) => response.statusCode).sort(), [200, 400], 'one 200, one 400')
  const winner = responses.find((response) => response.statusCode === 200)?.json()
  t.match((await refresh(first, winner.refresh_token)).json(), invalidGrant,
    'the loser presented a used token: the sign-in is ended, the winner\'s new token included')
})

t.test('a sign-in at one instance refreshes at another, and survives both instances\' restart', async (t) => {
  const signInApp = await buildApp(t, env())
  const session = await signedIn(signInApp)
  await signInApp.close()

  const refreshApp = await buildApp(t, env())
  const refreshed = await refresh(refreshApp, session.refresh_token)
  t.equal(refreshed.statusCode, 200)
  t.equal((await me(refreshApp, refreshed.json().access_token)).statusCode, 200)
})

t.test('an unknown, expired or malformed refresh token gets invalid_grant; a missing one invalid_request', async (t) => {
  const app = await buildApp(t, env())
  const session = await signedIn(app)

  t.match((await refresh(app, 'not-a-token-we-issued')).json(), invalidGrant)
  await app.pg.query("UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE token_hash = $1", [hashOf(session.refresh_token)])
  const expired = await refresh(app, session.refresh_token)
  t.equal(expired.statusCode, 400)
  t.match(expired.json(), { error: 'invalid_grant', error_description: /invalid, expired or revoked/ })

  const missing = await requestToken(app, { grant_type: 'refresh_token' })
  t.equal(missing.statusCode, 400)
  t.match(missing.headers['content-type'], /^application\/json/)
  t.same(missing.json(), { error: 'invalid_request', error_description: 'refresh_token is required' })
  const unsupported = await requestToken(app, { grant_type: 'client_credentials' })
  t.equal(unsupported.statusCode, 400)
  t.same(unsupported.json(), { error: 'unsupported_grant_type', error_description: 'grant_type must be password or refresh_token' })
  const noGrantType = await requestToken(app, { username: session.email, password: session.password })
  t.same(noGrantType.json(), { error: 'invalid_request', error_description: 'grant_type is required: password or refresh_token' }, 'grant_type is required')
  for (const refused of [missing, unsupported, noGrantType]) {
    t.equal(refused.headers['cache-control'], 'no-store')
    t.equal(refused.headers.pragma, 'no-cache')
  }
})

t.test('expired sign-ins and tokens are removed as new ones are issued, a bounded number at a time', async (t) => {
  // Room for every sign-in made here, so only the pruning removes any.
  const app = await buildApp(t, env({ SESSIONS_PER_USER: String(PRUNE_BATCH * 2) }))
  const session = await signedIn(app)
  await app.pg.query('DELETE FROM sessions')
  // More expired sign-ins than one prune removes, each with an expired token.
  await app.pg.query(
    `WITH expired AS (
       INSERT INTO sessions (user_id, token_version, ends_at, expires_at)
       SELECT $1, 0, now(), now() - interval '1 day' FROM generate_series(1, $2) RETURNING id
     )
     INSERT INTO refresh_tokens (token_hash, session_id, expires_at) SELECT sha256(id::text::bytea), id, now() - interval '1 day' FROM expired`,
    [session.id, PRUNE_BATCH + 10])
  const count = async (table: string) => Number((await app.pg.query(`SELECT count(*) FROM ${table}`)).rows[0].count)

  const next = (await signIn(app, session.email, session.password)).json()
  t.equal(await count('sessions'), 10 + 1, 'a sign-in removed one batch of expired sign-ins')
  t.equal((await refresh(app, next.refresh_token)).statusCode, 200)
  t.equal(await count('sessions'), 1, 'a refresh removed the rest')
  t.equal(await count('refresh_tokens'), 2, 'only the live sign-in\'s tokens are left: the used one and its replacement')
})

t.test('sign-out ends the sign-in; unknown and already ended tokens get the same 204', async (t) => {
  const app = await buildApp(t, env())
  const session = await signedIn(app)
  const rotated = (await refresh(app, session.refresh_token)).json()

  const out = await logout(app, session.refresh_token)
  t.equal(out.statusCode, 204, 'any token of the sign-in ends it, a used one too')
  t.equal(out.body, '')
  t.match((await refresh(app, rotated.refresh_token)).json(), invalidGrant, 'its current refresh token no longer works')
  t.equal((await logout(app, rotated.refresh_token)).statusCode, 204, 'an ended sign-in')
  t.equal((await logout(app, 'never-issued')).statusCode, 204, 'an unknown token')
  t.equal((await logout(app, '')).statusCode, 400, 'an empty token is a malformed request')
})

t.test('a password change ends every sign-in and every earlier access token', async (t) => {
  const app = await buildApp(t, env())
  const session = await signedIn(app)
  const other = (await signIn(app, session.email, session.password)).json()
  const newPassword = 'battery staple horse correct'

  const wrong = await changePassword(app, session.access_token, 'not the password', newPassword)
  t.equal(wrong.statusCode, 403)
  t.equal(wrong.json().detail, 'The current password is incorrect')
  const tooShort = await changePassword(app, session.access_token, session.password, 'short')
  t.equal(tooShort.statusCode, 400)
  t.match(tooShort.json().errors, [{ path: '/body/new_password' }])
  t.equal((await me(app, session.access_token)).statusCode, 200, 'a refused change ends nothing')

  t.equal((await changePassword(app, session.access_token, session.password, newPassword)).statusCode, 204)
  for (const [name, accessToken] of [['the changing one', session.access_token], ['another sign-in\'s', other.access_token]]) {
    const refused = await me(app, accessToken)
    t.equal(refused.statusCode, 401, `${name} access token is refused`)
    t.equal(refused.headers['www-authenticate'], 'Bearer error="invalid_token"')
  }
  for (const refreshToken of [session.refresh_token, other.refresh_token]) t.match((await refresh(app, refreshToken)).json(), invalidGrant)

  t.match((await signIn(app, session.email, session.password)).json(), { error: 'invalid_grant' }, 'the old password no longer signs in')
  const again = await signIn(app, session.email, newPassword)
  t.equal(again.statusCode, 200)
  t.equal((await me(app, again.json().access_token)).statusCode, 200, 'the new password does')
  t.equal((await refresh(app, again.json().refresh_token)).statusCode, 200)
})

t.test('a sign-in checked against the password a change just replaced starts nothing', async (t) => {
  const app = await buildApp(t, env())
  const session = await signedIn(app)
  const origin = { clientIp: '127.0.0.1', userAgent: undefined }
  t.equal(await app.sessions.start(session.id, 1, origin), null, 'a version the account is not at')
  t.match(await app.sessions.start(session.id, 0, origin), { sessionId: String, refreshToken: String })
})

t.test('a deactivated account cannot refresh', async (t) => {
  const app = await buildApp(t, env())
  const session = await signedIn(app)
  await app.pg.query('UPDATE users SET is_active = false WHERE id = $1', [session.id])
  t.match((await refresh(app, session.refresh_token)).json(), invalidGrant)
  await app.pg.query('UPDATE users SET is_active = true WHERE id = $1', [session.id])
  t.equal((await refresh(app, session.refresh_token)).statusCode, 200, 'the refusal did not use the token up')
})

t.test('refreshes have their own REFRESHES_PER_MINUTE per address, apart from sign-ins\' PASSWORD_CHECKS_PER_MINUTE', async (t) => {
  const app = await buildApp(t, env({ PASSWORD_CHECKS_PER_MINUTE: '2', REFRESHES_PER_MINUTE: '2' }))
  const session = await signedIn(app) // registration and sign-in: the address's 2 password checks
  t.equal((await signIn(app, session.email, session.password)).statusCode, 429, 'the address has no password checks left')
  const first = await refresh(app, session.refresh_token)
  t.equal(first.statusCode, 200, 'yet it refreshes')
  const second = await refresh(app, first.json().refresh_token)
  t.equal(second.statusCode, 200)
  const limited = await refresh(app, second.json().refresh_token)
  t.equal(limited.statusCode, 429)
  t.match(limited.json(), { status: 429, detail: /^Too many refreshes from this address/ })
  t.ok(Number(limited.headers['retry-after']) > 0)
  t.equal((await refresh(app, second.json().refresh_token, { remoteAddress: '192.0.2.9' })).statusCode, 200, 'the refused refresh did not use the token up')
})

t.test('password change attempts are limited per account and address', async (t) => {
  const app = await buildApp(t, env({ LOGIN_ATTEMPTS_PER_MINUTE: '2' }))
  const session = await signedIn(app)
  for (const attempt of [1, 2]) t.equal((await changePassword(app, session.access_token, `guess ${attempt}`, 'a brand new pass phrase')).statusCode, 403)
  const limited = await changePassword(app, session.access_token, session.password, 'a brand new pass phrase')
  t.equal(limited.statusCode, 429)
  t.match(limited.json().detail, /^Too many attempts at the current password of this account/)
})

t.test('the OpenAPI document describes sign-out, password change and both grants', async (t) => {
  const app = await buildApp(t, env())
  const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json()
  const token = document.paths['/api/auth/token'].post
  t.same(Object.keys(token.responses['400'].content), ['application/json'], 'the token endpoint refuses with OAuth2 errors only')
  t.same(token.responses['400'].content['application/json'].schema.properties.error.enum, ['invalid_request', 'invalid_grant', 'unsupported_grant_type'])
  t.notOk(token.responses['401'], 'wrong credentials are a 400 invalid_grant, not a 401')
  t.same(token.requestBody.content['application/x-www-form-urlencoded'].schema.required, ['grant_type'])
  t.same(token.requestBody.content['application/x-www-form-urlencoded'].schema.properties.grant_type.enum, ['password', 'refresh_token'])
  t.ok(token.responses['200'].content['application/json'].schema.required.includes('refresh_token'))

  const logoutOperation = document.paths['/api/auth/logout'].post
  t.equal(logoutOperation.operationId, 'logout')
  t.ok(logoutOperation.responses['204'])
  const change = document.paths['/api/users/me/password'].post
  t.equal(change.operationId, 'changePassword')
  t.same(change.security, [{ OAuth2PasswordBearer: [] }, { HTTPBearer: [] }])
  t.ok(change.responses['204'])
})
