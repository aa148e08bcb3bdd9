import { createHmac } from 'node:crypto'
import http from 'node:http'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { buildApp, captureLogs, startSharedDatabase } from '../helper.js'
import { newAccount, register, signedIn, signIn, testPassword } from '../accounts.js'
import { unknownUserHash } from '../../src/accounts/user-store.js'

const { admin, env } = await startSharedDatabase(t)
const secretKey = env().SECRET_KEY as string

async function me (app: FastifyInstance, authorization?: string) {
  return app.inject({ method: 'GET', url: '/api/users/me', headers: authorization === undefined ? {} : { authorization } })
}

/** A JWT built by hand, for the tokens @fastify/jwt would never sign. */
function forgeToken (header: object, payload: object, key = secretKey, hmac: string | null = 'sha256'): string {
  const encode = (part: object) => Buffer.from(JSON.stringify(part)).toString('base64url')
  const signed = `${encode(header)}.${encode(payload)}`
  return `${signed}.${hmac === null ? '' : createHmac(hmac, key).update(signed).digest('base64url')}`
}

const decodePart = (token: string, index: number) => JSON.parse(Buffer.from(token.split('.')[index], 'base64url').toString())

t.test('register, sign in and read yourself back: the whole flow', async (t) => {
  const logs = captureLogs()
  const app = await buildApp(t, env(), { logs })
  const account = newAccount()

  const registered = await register(app, { ...account, email: account.email.toUpperCase() })
  t.equal(registered.statusCode, 202)
  t.same(Object.keys(registered.json()), ['detail'], 'the answer says nothing about the account')

  const token = await signIn(app, account.email, account.password)
  t.equal(token.statusCode, 200, 'the email matches in any letter case')
  t.equal(token.headers['cache-control'], 'no-store')
  t.equal(token.headers.pragma, 'no-cache')
  const { access_token: accessToken, refresh_token: refreshToken, ...rest } = token.json()
  t.same(rest, { token_type: 'bearer', expires_in: 1800, refresh_token_expires_in: 14 * 24 * 3600 })
  t.same(decodePart(accessToken, 0), { alg: 'HS256', typ: 'at+jwt' }, 'an RFC 9068 access token')
  const claims = decodePart(accessToken, 1)
  t.equal(claims.exp - claims.iat, 30 * 60, 'ACCESS_TOKEN_EXPIRE_MINUTES defaults to 30')

  const current = await me(app, `Bearer ${accessToken}`)
  t.equal(current.statusCode, 200)
  const user = current.json()
  t.match(user, { email: account.email.toUpperCase(), full_name: account.full_name, is_active: true, email_verified: false })
  t.match(user.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
  t.match(claims, { sub: user.id, sid: /^[0-9a-f-]{36}$/, ver: 0, gen: 0, iss: 'spinta-backend', aud: 'spinta-api', jti: String })
  t.ok(Date.parse(user.created_at) > 0, 'created_at is an ISO 8601 time')
  t.same(Object.keys(user).sort(), ['created_at', 'email', 'email_verified', 'full_name', 'id', 'is_active'], 'no password and no hash')

  t.notMatch(logs.text(), account.password, 'the password is never logged')
  t.notMatch(logs.text(), accessToken, 'the token is never logged')
  t.notMatch(logs.text(), refreshToken, 'nor the refresh token')
})

t.test('registration answers a taken email in any case like a new one, and refuses an invalid email and a short password alike for both', async (t) => {
  const app = await buildApp(t, env())
  const account = newAccount()
  const first = await register(app, account)
  t.equal(first.statusCode, 202)

  const duplicate = await register(app, { ...account, email: account.email.replace('coach', 'COACH'), full_name: 'Someone Else' })
  t.equal(duplicate.statusCode, 202)
  t.same(duplicate.json(), first.json(), 'the same answer: it tells nobody the address has an account')

  const invalidEmail = await register(app, { ...newAccount(), email: 'not-an-email' })
  t.equal(invalidEmail.statusCode, 400)
  t.match(invalidEmail.json().errors, [{ path: '/body/email' }])

  const blankName = await register(app, { ...newAccount(), full_name: '   ' })
  t.equal(blankName.statusCode, 400)

  for (const fullName of ['Ana\u0000Coach', 'Ana\u0000']) {
    const nul = await register(app, { ...newAccount(), full_name: fullName })
    t.equal(nul.statusCode, 400, 'a NUL character is refused by the schema, before the database')
    t.match(nul.json().errors, [{ path: '/body/full_name' }])
  }
  const nulUsername = await signIn(app, 'ana\u0000@example.com', testPassword)
  t.equal(nulUsername.statusCode, 400)
  t.match(nulUsername.json(), { error: 'invalid_request', error_description: /^username must match pattern/ })

  // The password rules depend on the body alone: a known address is refused exactly like a new one.
  for (const email of [newAccount().email, account.email]) {
    const short = await register(app, { ...newAccount(), email, password: 'fourteen chars' })
    t.equal(short.statusCode, 400, 'a 14-character password is refused (NIST SP 800-63B-4)')
    t.match(short.json().errors, [{ path: '/body/password', message: /at least 15 characters/ }])
  }
})

// Every schema keyword runs on every value (allErrors), its pattern after maxLength has failed too, so a
// pattern that backtracks would hold the event loop for half an hour on these bodies: the test file
// would time out rather than fail an assertion (a blocked event loop fires no per-test timeout).
t.test('a body as large as BODY_LIMIT_BYTES allows, with values built to make a pattern backtrack, gets 400', async (t) => {
  const app = await buildApp(t, env())
  const long = 'a'.repeat(1_000_000)
  for (const fullName of [`${long}\u0000`, `${' '.repeat(1_000_000)}\u0000`]) {
    const response = await register(app, { ...newAccount(), full_name: fullName })
    t.equal(response.statusCode, 400)
    t.match(response.json().errors, [{ path: '/body/full_name' }])
  }
  const username = await signIn(app, `${long}\u0000`, testPassword)
  t.equal(username.statusCode, 400)
  t.match(username.json(), { error: 'invalid_request', error_description: /^username must NOT have more than 254 characters/ })
})

t.test('passwords are stored as argon2id hashes with the parameters the unknown-email check uses', async (t) => {
  const app = await buildApp(t, env())
  const account = newAccount()
  t.equal((await register(app, account)).statusCode, 202)
  const { rows } = await app.pg.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE email = $1', [account.email])
  const parameters = (hash: string) => hash.split('$').slice(1, 4)
  t.same(parameters(rows[0].password_hash), parameters(unknownUserHash), 'so an unknown email costs as much time as a wrong password')
  t.same(parameters(unknownUserHash), ['argon2id', 'v=19', 'm=19456,t=2,p=1'])
})

t.test('wrong credentials get the same 400 invalid_grant (RFC 6749 §5.2), known email or not', async (t) => {
  const app = await buildApp(t, env())
  const account = newAccount()
  await register(app, account)

  const wrongPassword = await signIn(app, account.email, 'not the password')
  const unknownEmail = await signIn(app, 'nobody@example.com', account.password)
  for (const response of [wrongPassword, unknownEmail]) {
    t.equal(response.statusCode, 400)
    t.match(response.headers['content-type'], /^application\/json/)
    t.same(response.json(), { error: 'invalid_grant', error_description: 'Incorrect email or password' })
    t.equal(response.headers['cache-control'], 'no-store')
    t.equal(response.headers.pragma, 'no-cache')
  }
  t.equal(wrongPassword.body, unknownEmail.body, 'the answers cannot tell a known email from an unknown one')

  const missingPassword = await app.inject({
    method: 'POST',
    url: '/api/auth/token',
    payload: `username=${encodeURIComponent(account.email)}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' }
  })
  t.equal(missingPassword.statusCode, 400)
})

t.test('repeated sign-in attempts are limited per client IP and username', async (t) => {
  const app = await buildApp(t, env({ LOGIN_ATTEMPTS_PER_MINUTE: '3' }))
  const account = newAccount()
  await register(app, account)

  for (let attempt = 1; attempt <= 3; attempt++) {
    t.equal((await signIn(app, account.email, `guess ${attempt}`)).statusCode, 400, `attempt ${attempt} is answered`)
  }
  const limited = await signIn(app, account.email.toUpperCase(), account.password)
  t.equal(limited.statusCode, 429, 'the fourth attempt is refused, even with the right password and another letter case')
  t.ok(Number(limited.headers['retry-after']) > 0, 'Retry-After says when to come back')
  t.equal(limited.json().status, 429)

  t.equal((await signIn(app, account.email, account.password, { remoteAddress: '192.0.2.7' })).statusCode, 200, 'another client is not limited')
  t.equal((await signIn(app, 'someone.else@example.com', 'guess')).statusCode, 400, 'another username is not limited')
})

t.test('sign-ins and registrations from one client IP share PASSWORD_CHECKS_PER_MINUTE, whatever the usernames', async (t) => {
  const app = await buildApp(t, env({ PASSWORD_CHECKS_PER_MINUTE: '3' }))
  t.equal((await register(app, newAccount())).statusCode, 202)
  t.equal((await register(app, { ...newAccount(), email: 'not-an-email' })).statusCode, 400, 'an invalid body costs no hash')
  for (const attempt of [1, 2]) t.equal((await signIn(app, newAccount().email, 'guess')).statusCode, 400, `username ${attempt}`)

  const limited = await signIn(app, newAccount().email, 'guess')
  t.equal(limited.statusCode, 429, 'a new username is refused once the address has used its budget')
  t.ok(Number(limited.headers['retry-after']) > 0, 'Retry-After says when to come back')
  t.match(limited.json(), { status: 429, detail: /^Too many sign-ins and registrations from this address; retry in \d+ s$/ })
  t.equal((await register(app, newAccount())).statusCode, 429, 'registration shares the budget')
  t.equal((await signIn(app, newAccount().email, 'guess', { remoteAddress: '192.0.2.7' })).statusCode, 400, 'another client is not limited')
})

t.test('attempts the per-username limit refuses do not spend the address\'s PASSWORD_CHECKS_PER_MINUTE', async (t) => {
  const app = await buildApp(t, env({ LOGIN_ATTEMPTS_PER_MINUTE: '2', PASSWORD_CHECKS_PER_MINUTE: '4' }))
  const guessed = newAccount().email
  for (const attempt of [1, 2]) t.equal((await signIn(app, guessed, 'guess')).statusCode, 400, `attempt ${attempt}`)
  for (const attempt of [3, 4, 5]) t.equal((await signIn(app, guessed, 'guess')).statusCode, 429, `attempt ${attempt} is refused`)
  for (const other of [1, 2]) {
    t.equal((await signIn(app, newAccount().email, 'guess')).statusCode, 400, `the refusals hashed nothing, so other username ${other} is checked`)
  }
  t.equal((await signIn(app, newAccount().email, 'guess')).statusCode, 429, 'the fifth checked password is refused')
})

t.test('requests PASSWORD_CHECKS_PER_MINUTE refuses add no counts, and leave an account\'s count as it was', async (t) => {
  const app = await buildApp(t, env({ LOGIN_ATTEMPTS_PER_MINUTE: '2', PASSWORD_CHECKS_PER_MINUTE: '3' }))
  const countRows = async () => Number((await admin.query('SELECT count(*) FROM rate_limits')).rows[0].count)
  const victim = newAccount().email
  const attacker = '127.0.0.1'
  for (const attempt of [1, 2]) t.equal((await signIn(app, victim, `guess ${attempt}`, { remoteAddress: attacker })).statusCode, 400, `guess ${attempt}`)
  const before = await countRows()
  // From a second address whose budget is soon spent, a new username each time.
  const flooder = '192.0.2.66'
  let refused = 0
  for (let index = 0; index < 50; index++) {
    if ((await signIn(app, `flood${index}@example.com`, 'guess', { remoteAddress: flooder })).statusCode === 429) refused++
  }
  t.equal(refused, 47, 'all but the flooder\'s first three are refused, unhashed')
  t.equal(await countRows(), before + 1 + 2 * 3,
    'one count for the flooder\'s address, and for each username it got checked one per address and one for the account')
  const third = await signIn(app, victim, 'guess 3', { remoteAddress: attacker })
  t.equal(third.statusCode, 429, 'the third guess at the account is still refused')
  t.match(third.json().detail, /^Too many sign-in attempts for this account/, 'by the account\'s limit')
})

t.test('both sign-in limits refuse alike: 429, Retry-After, a problem saying which limit and when to retry', async (t) => {
  const app = await buildApp(t, env({ LOGIN_ATTEMPTS_PER_MINUTE: '1', PASSWORD_CHECKS_PER_MINUTE: '2' }))
  const { email } = newAccount()
  await signIn(app, email, 'guess')
  const perUsername = await signIn(app, email, 'guess')
  await signIn(app, newAccount().email, 'guess')
  const perAddress = await signIn(app, newAccount().email, 'guess')

  t.match(perUsername.json(), { status: 429, detail: /^Too many sign-in attempts for this account from this address; retry in \d+ s$/ })
  t.match(perAddress.json(), { status: 429, detail: /^Too many sign-ins and registrations from this address; retry in \d+ s$/ })
  const headerNames = (response: typeof perUsername) => Object.keys(response.headers).filter((name) => name !== 'x-request-id').sort()
  t.same(headerNames(perUsername), headerNames(perAddress), 'the same headers')
  for (const refused of [perUsername, perAddress]) t.ok(Number(refused.headers['retry-after']) > 0, 'Retry-After says when to come back')
})

/**
 * A wrong-password sign-in over a real connection from `localAddress` (any 127.x address reaches the
 * server on Linux), as a reverse proxy there would forward it: the status code it gets.
 */
async function signInThrough (app: FastifyInstance, localAddress: string, forwardedFor: string, username: string): Promise<number> {
  const { port } = app.server.address() as { port: number }
  const body = new URLSearchParams({ grant_type: 'password', username, password: 'a wrong guess' }).toString()
  return new Promise((resolve, reject) => {
    const request = http.request({
      host: '127.0.0.1',
      port,
      localAddress,
      method: 'POST',
      path: '/api/auth/token',
      agent: false,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': forwardedFor }
    }, (response) => {
      response.resume()
      response.on('end', () => resolve(response.statusCode ?? 0))
    })
    request.on('error', reject)
    request.end(body)
  })
}

t.test('behind a proxy that TRUST_PROXY lists, sign-in attempts are limited per forwarded client', async (t) => {
  const app = await buildApp(t, env({ LOGIN_ATTEMPTS_PER_MINUTE: '2', TRUST_PROXY: '127.0.0.1' }))
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { email } = newAccount()
  const proxy = '127.0.0.1'

  t.equal(await signInThrough(app, proxy, '203.0.113.7', email), 400)
  t.equal(await signInThrough(app, proxy, '203.0.113.7', email), 400)
  t.equal(await signInThrough(app, proxy, '203.0.113.7', email), 429, 'the client behind the proxy is limited')
  t.equal(await signInThrough(app, proxy, '203.0.113.8', email), 400, 'another client behind the same proxy is not')
  t.equal(await signInThrough(app, proxy, '198.51.100.9, 203.0.113.7', email), 429,
    'an X-Forwarded-For the client sent itself, which the proxy appends to, does not escape the limit')
})

t.test('a listed proxy that forwards the client\'s port too (ip:port) still limits per client', async (t) => {
  const app = await buildApp(t, env({ LOGIN_ATTEMPTS_PER_MINUTE: '2', TRUST_PROXY: '127.0.0.1' }))
  await app.listen({ host: '127.0.0.1', port: 0 })
  for (const client of ['203.0.113.7', '[2001:db8::7]']) {
    const { email } = newAccount()
    t.equal(await signInThrough(app, '127.0.0.1', `${client}:51001`, email), 400, client)
    t.equal(await signInThrough(app, '127.0.0.1', `${client}:51002`, email), 400, client)
    t.equal(await signInThrough(app, '127.0.0.1', `${client}:51003`, email), 429, `${client}: a new source port does not escape the limit`)
  }
  const { email } = newAccount()
  t.equal(await signInThrough(app, '127.0.0.1', '203.0.113.8:51001', email), 400, 'another client is not limited')
})

t.test('X-Forwarded-For is ignored without TRUST_PROXY, and from a peer TRUST_PROXY does not list', async (t) => {
  const cases = [
    { name: 'TRUST_PROXY unset', overrides: {}, peer: '127.0.0.1' },
    { name: 'a peer that is not the listed proxy', overrides: { TRUST_PROXY: '127.0.0.1' }, peer: '127.0.0.2' }
  ]
  for (const { name, overrides, peer } of cases) {
    const app = await buildApp(t, env({ LOGIN_ATTEMPTS_PER_MINUTE: '2', ...overrides }))
    await app.listen({ host: '127.0.0.1', port: 0 })
    const { email } = newAccount()
    t.equal(await signInThrough(app, peer, '203.0.113.7', email), 400, name)
    t.equal(await signInThrough(app, peer, '203.0.113.8', email), 400, name)
    t.equal(await signInThrough(app, peer, '203.0.113.9', email), 429, `${name}: a new X-Forwarded-For on each attempt does not escape the limit`)
  }
})

t.test('X-Forwarded-For from a peer TRUST_PROXY does not list is warned of once, as every client behind it shares the counts', async (t) => {
  const proxyWarnings = (logs: ReturnType<typeof captureLogs>) => logs.lines.filter((line) => /TRUST_PROXY/.test(String(line.msg)))
  const logs = captureLogs()
  const app = await buildApp(t, env(), { logs })
  await app.listen({ host: '127.0.0.1', port: 0 })
  await signIn(app, newAccount().email, 'guess')
  t.same(proxyWarnings(logs), [], 'no warning without X-Forwarded-For')
  for (const client of ['203.0.113.7', '203.0.113.8']) await signInThrough(app, '127.0.0.1', client, newAccount().email)
  t.equal(proxyWarnings(logs).length, 1, 'one warning')
  t.match(proxyWarnings(logs), [{ level: 40, peer: '127.0.0.1' }], 'naming the peer')

  const listedLogs = captureLogs()
  const listed = await buildApp(t, env({ TRUST_PROXY: '127.0.0.1' }), { logs: listedLogs })
  await listed.listen({ host: '127.0.0.1', port: 0 })
  for (const forwarded of ['203.0.113.7', '127.0.0.1']) await signInThrough(listed, '127.0.0.1', forwarded, newAccount().email)
  t.same(proxyWarnings(listedLogs), [], 'no warning when the proxy is listed, even if it forwards only proxies\' addresses')
})

t.test('GET /api/users/me refuses every token it did not issue, or no longer honours', async (t) => {
  const app = await buildApp(t, env())
  const account = newAccount()
  const user = await signedIn(app, account)
  const valid = (await signIn(app, account.email, account.password)).json().access_token as string
  const now = Math.floor(Date.now() / 1000)
  const [header, , signature] = valid.split('.')
  const tampered = `${header}.${Buffer.from(JSON.stringify({ ...decodePart(valid, 1), sub: '00000000-0000-4000-8000-000000000000' })).toString('base64url')}.${signature}`

  const missing = await me(app)
  t.equal(missing.statusCode, 401)
  t.equal(missing.headers['www-authenticate'], 'Bearer')

  const refused: Record<string, string> = {
    expired: forgeToken({ alg: 'HS256', typ: 'JWT' }, { sub: user.id, iat: now - 3600, exp: now - 60 }),
    tampered,
    'alg none': forgeToken({ alg: 'none', typ: 'JWT' }, { sub: user.id, iat: now }, secretKey, null),
    'another algorithm with the same key (HS512)': forgeToken({ alg: 'HS512', typ: 'JWT' }, { sub: user.id, iat: now }, secretKey, 'sha512'),
    'another key': forgeToken({ alg: 'HS256', typ: 'JWT' }, { sub: user.id, iat: now }, 'some-other-secret-key-of-enough-length'),
    'a valid signature for a user that does not exist': forgeToken({ alg: 'HS256', typ: 'JWT' }, { sub: '00000000-0000-4000-8000-000000000000', iat: now }),
    'a valid signature without a user id': forgeToken({ alg: 'HS256', typ: 'JWT' }, { sub: 'admin', iat: now }),
    'not a JWT': 'not-a-token',
    'no token after Bearer': ''
  }
  for (const [kind, token] of Object.entries(refused)) {
    const response = await me(app, `Bearer ${token}`)
    t.equal(response.statusCode, 401, kind)
    t.match(response.headers['www-authenticate'], /^Bearer/, `${kind}: WWW-Authenticate`)
    t.notMatch(response.body, account.email, `${kind}: nothing about the user`)
  }
  t.equal((await me(app, `Bearer ${valid}`)).statusCode, 200, 'the issued token still works')
})

t.test('a deactivated account can neither sign in nor use a token it already has', async (t) => {
  const app = await buildApp(t, env())
  const account = newAccount()
  const user = await signedIn(app, account)
  const token = (await signIn(app, account.email, account.password)).json().access_token
  await app.pg.query('UPDATE users SET is_active = false WHERE id = $1', [user.id])

  t.match((await signIn(app, account.email, account.password)).json(), { error: 'invalid_grant', error_description: 'This account is deactivated' })
  t.equal((await signIn(app, account.email, 'wrong password')).json().error_description, 'Incorrect email or password', 'a wrong password is told as such')
  const current = await me(app, `Bearer ${token}`)
  t.equal(current.statusCode, 403)
  t.equal(current.json().detail, 'This account is deactivated')
})

t.test('the lookup of a signed-in request is prepared once per connection, unless DATABASE_PREPARED_STATEMENTS is false', async (t) => {
  for (const prepared of [true, false]) {
    // One pooled connection: the session the lookups ran in is the one asked.
    const app = await buildApp(t, env({ DATABASE_POOL_MAX: '1', DATABASE_PREPARED_STATEMENTS: String(prepared) }))
    const account = newAccount()
    await register(app, account)
    const token = (await signIn(app, account.email, account.password)).json().access_token
    for (let request = 0; request < 3; request++) t.equal((await me(app, `Bearer ${token}`)).json().email, account.email)
    const { rows } = await app.pg.query<{ name: string }>('SELECT name FROM pg_prepared_statements')
    t.same(rows.map(({ name }) => name), prepared ? ['users.find-by-session'] : [], `DATABASE_PREPARED_STATEMENTS=${prepared}`)
    await app.close()
  }
})

t.test('tokens follow ALGORITHM and ACCESS_TOKEN_EXPIRE_MINUTES', async (t) => {
  const app = await buildApp(t, env({ ALGORITHM: 'HS384', ACCESS_TOKEN_EXPIRE_MINUTES: '5' }))
  const account = newAccount()
  const user = await signedIn(app, account)
  const token = await signIn(app, account.email, account.password)
  t.equal(token.json().expires_in, 300)
  const accessToken = token.json().access_token
  t.equal(decodePart(accessToken, 0).alg, 'HS384')
  const claims = decodePart(accessToken, 1)
  t.equal(claims.exp - claims.iat, 300)
  t.equal((await me(app, `Bearer ${accessToken}`)).statusCode, 200)

  const hs256 = forgeToken({ alg: 'HS256', typ: 'JWT' }, { sub: user.id, iat: Math.floor(Date.now() / 1000) })
  t.equal((await me(app, `Bearer ${hs256}`)).statusCode, 401, 'a token with the default algorithm is refused')
})

t.test('the OpenAPI document lets Swagger UI sign in and call /api/users/me', async (t) => {
  const app = await buildApp(t, env())
  const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json()
  t.same(document.components.securitySchemes.OAuth2PasswordBearer, { type: 'oauth2', flows: { password: { tokenUrl: '/api/auth/token', scopes: {} } } })
  t.match(document.components.securitySchemes.HTTPBearer, { type: 'http', scheme: 'bearer' })

  const token = document.paths['/api/auth/token'].post
  t.same(Object.keys(token.requestBody.content), ['application/x-www-form-urlencoded'])
  t.same(token.requestBody.content['application/x-www-form-urlencoded'].schema.allOf[0].then.required, ['username', 'password'],
    'the password grant requires both')
  t.same(document.paths['/api/users/me'].get.security, [{ OAuth2PasswordBearer: [] }, { HTTPBearer: [] }])

  const operations = [document.paths['/api/auth/register'].post, token, document.paths['/api/users/me'].get]
  t.same(operations.map((operation) => operation.operationId), ['register', 'createAccessToken', 'getCurrentUser'])
  for (const operation of operations) {
    t.ok(operation.summary && operation.description, `${operation.operationId} has a summary and a description`)
    t.match(operation.tags, [/^(Auth|Users)$/])
  }
  t.match(document.paths['/api/auth/register'].post.responses['202'].content['application/json'].example, { detail: String })
  t.match(document.paths['/api/users/me'].get.responses['200'].content['application/json'].example, { email: String, email_verified: Boolean })
  t.notOk(JSON.stringify(document.paths['/api/users/me'].get.responses).includes('password_hash'))
})
