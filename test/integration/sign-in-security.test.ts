import { createHmac } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import * as client from 'openid-client'
import t from 'tap'
import { buildApp, captureLogs, startSharedDatabase } from '../helper.js'
import { startSmtpServer, tokenIn } from '../smtp.js'
import { bearer, newAccount, refresh, register, signedIn, signIn, type Account, type TokenRequestOptions } from '../accounts.js'
import { DEVICE_COOKIE } from '../../plugins/app/sign-in-limits.js'

// The sign-in hardening of issue 35, each point against a real PostgreSQL. Time is moved by
// moving the database's timestamps back, never by waiting.
const { admin, env } = await startSharedDatabase(t)
const secretKey = env().SECRET_KEY as string

const me = async (app: FastifyInstance, accessToken: string) => app.inject({ method: 'GET', url: '/api/users/me', headers: bearer(accessToken) })
/** A new account signed in from where `options` say. */
const signedInFrom = async (app: FastifyInstance, options: TokenRequestOptions, account: Account = newAccount('keeper')) => {
  await register(app, account)
  const tokens = await signIn(app, account.email, account.password, options)
  return { ...account, ...(tokens.json() as { access_token: string, refresh_token: string }) }
}

const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString())
function forge (header: object, payload: object): string {
  const encode = (part: object) => Buffer.from(JSON.stringify(part)).toString('base64url')
  const signed = `${encode(header)}.${encode(payload)}`
  return `${signed}.${createHmac('sha256', secretKey).update(signed).digest('base64url')}`
}

t.test('access tokens die with their sign-in: logout, reuse, ending the session, password change', async (t) => {
  const app = await buildApp(t, env({ REFRESH_GRACE_SECONDS: '0' }))

  const loggedOut = await signedIn(app)
  t.equal((await me(app, loggedOut.access_token)).statusCode, 200)
  await app.inject({ method: 'POST', url: '/api/auth/logout', payload: { refresh_token: loggedOut.refresh_token } })
  const afterLogout = await me(app, loggedOut.access_token)
  t.equal(afterLogout.statusCode, 401, 'after logout the access token gets 401 at once')
  t.equal(afterLogout.headers['www-authenticate'], 'Bearer error="invalid_token"')

  const stolen = await signedIn(app)
  const next = (await refresh(app, stolen.refresh_token)).json()
  t.equal((await refresh(app, stolen.refresh_token)).statusCode, 400, 'reuse')
  t.equal((await me(app, stolen.access_token)).statusCode, 401, 'reuse detection ends the first access token')
  t.equal((await me(app, next.access_token)).statusCode, 401, 'and the newest')

  const ended = await signedIn(app)
  const other = (await signIn(app, ended.email, ended.password)).json()
  const sid = claimsOf(other.access_token).sid
  t.equal((await app.inject({ method: 'DELETE', url: `/api/users/me/sessions/${sid}`, headers: bearer(ended.access_token) })).statusCode, 204)
  t.equal((await me(app, other.access_token)).statusCode, 401, 'an ended session\'s access token gets 401')
  t.equal((await me(app, ended.access_token)).statusCode, 200, 'the other sign-in goes on')

  const changed = await signedIn(app)
  const second = (await signIn(app, changed.email, changed.password)).json()
  t.equal((await app.inject({
    method: 'POST', url: '/api/users/me/password', headers: bearer(changed.access_token), payload: { current_password: changed.password, new_password: 'an entirely different phrase' }
  })).statusCode, 204)
  for (const token of [changed.access_token, second.access_token]) t.equal((await me(app, token)).statusCode, 401, 'a password change ends every access token')
})

t.test('every claim is required and checked: iss, aud, exp, iat, sub, sid, ver, typ at+jwt, lifetime', async (t) => {
  const app = await buildApp(t, env())
  const session = await signedIn(app)
  const good = claimsOf(session.access_token)
  const header = { alg: 'HS256', typ: 'at+jwt' }
  t.equal((await me(app, forge(header, good))).statusCode, 200, 'the same claims, signed again, are accepted')
  const without = (name: string) => Object.fromEntries(Object.entries(good).filter(([key]) => key !== name))
  const refused: Record<string, string> = {
    'just a sub': forge(header, { sub: session.id }),
    'no exp': forge(header, without('exp')),
    'no iat': forge(header, without('iat')),
    'no sid': forge(header, without('sid')),
    'no ver': forge(header, without('ver')),
    'no iss': forge(header, without('iss')),
    'no aud': forge(header, without('aud')),
    'a foreign aud': forge(header, { ...good, aud: 'another-api' }),
    'a foreign iss': forge(header, { ...good, iss: 'staging' }),
    'a ten-year expiry': forge(header, { ...good, exp: good.iat + 10 * 365 * 24 * 3600 }),
    'a lifetime one second longer than configured': forge(header, { ...good, exp: good.iat + 30 * 60 + 1 }),
    'issued in the future': forge(header, { ...good, iat: good.iat + 3600, exp: good.iat + 3600 + 60 }),
    'typ JWT, not at+jwt': forge({ alg: 'HS256', typ: 'JWT' }, good),
    'a sid of another user\'s sign-in': forge(header, { ...good, sub: '00000000-0000-4000-8000-000000000000' }),
    'a sid that never existed': forge(header, { ...good, sid: '00000000-0000-4000-8000-000000000000' })
  }
  for (const [kind, token] of Object.entries(refused)) t.equal((await me(app, token)).statusCode, 401, kind)

  const custom = await buildApp(t, env({ JWT_ISSUER: 'https://auth.spinta.example', JWT_AUDIENCE: 'https://api.spinta.example' }))
  const customSession = await signedIn(custom)
  t.match(claimsOf(customSession.access_token), { iss: 'https://auth.spinta.example', aud: 'https://api.spinta.example' }, 'JWT_ISSUER and JWT_AUDIENCE')
  t.equal((await me(custom, customSession.access_token)).statusCode, 200)
  t.equal((await me(custom, session.access_token)).statusCode, 401, 'a token of the default issuer and audience is foreign there')
})

t.test('a sign-in has an absolute lifetime refreshes cannot extend, and an idle timeout', async (t) => {
  const app = await buildApp(t, env({ SESSION_LIFETIME_DAYS: '30', REFRESH_TOKEN_EXPIRE_DAYS: '7' }))
  const session = await signedIn(app)
  // 29 days and 23 hours later, refreshed every day: one hour of the sign-in is left.
  await admin.query("UPDATE sessions SET created_at = created_at - interval '29 days 23 hours', ends_at = ends_at - interval '29 days 23 hours' WHERE user_id = $1", [session.id])
  const late = await refresh(app, session.refresh_token)
  t.equal(late.statusCode, 200)
  t.ok(late.json().refresh_token_expires_in <= 3600, 'the new refresh token expires with the sign-in, not 7 days later')
  await admin.query("UPDATE sessions SET ends_at = now() - interval '1 second', expires_at = now() - interval '1 second' WHERE user_id = $1", [session.id])
  t.match((await refresh(app, late.json().refresh_token)).json(), { error: 'invalid_grant' }, 'past its end the sign-in is over')
  t.equal((await me(app, late.json().access_token)).statusCode, 401, 'and so are its access tokens')

  const idle = await signedIn(app)
  // Unused for longer than the idle timeout: its expiry has passed, though its end has not.
  await admin.query("UPDATE sessions SET expires_at = now() - interval '1 second' WHERE user_id = $1", [idle.id])
  await admin.query("UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE session_id IN (SELECT id FROM sessions WHERE user_id = $1)", [idle.id])
  t.match((await refresh(app, idle.refresh_token)).json(), { error: 'invalid_grant' }, 'an idle sign-in ends')
  t.equal((await me(app, idle.access_token)).statusCode, 401)
})

t.test('a user holds at most SESSIONS_PER_USER sign-ins: the oldest ends', async (t) => {
  const app = await buildApp(t, env({ SESSIONS_PER_USER: '2' }))
  const first = await signedIn(app)
  const second = (await signIn(app, first.email, first.password)).json()
  const third = (await signIn(app, first.email, first.password)).json()
  t.equal((await me(app, first.access_token)).statusCode, 401, 'the oldest sign-in ended')
  t.match((await refresh(app, first.refresh_token)).json(), { error: 'invalid_grant' })
  for (const tokens of [second, third]) t.equal((await me(app, tokens.access_token)).statusCode, 200)
})

t.test('GET /api/users/me/sessions lists the sign-ins, DELETE ends one, the current one included', async (t) => {
  const app = await buildApp(t, env())
  const phone = await signedInFrom(app, { headers: { 'user-agent': 'Phone/1.0' }, remoteAddress: '203.0.113.7' })
  const laptop = (await signIn(app, phone.email, phone.password, { headers: { 'user-agent': 'Laptop/2.0' }, remoteAddress: '2001:db8::7' })).json()

  const listed = await app.inject({ method: 'GET', url: '/api/users/me/sessions', headers: bearer(laptop.access_token) })
  t.equal(listed.statusCode, 200)
  const sessions = listed.json()
  t.equal(sessions.length, 2)
  t.match(sessions, [
    { id: claimsOf(laptop.access_token).sid, user_agent: 'Laptop/2.0', client_ip: '2001:db8::7', current: true },
    { id: claimsOf(phone.access_token).sid, user_agent: 'Phone/1.0', client_ip: '203.0.113.7', current: false }
  ], 'newest first, with where each came from and which is current')
  for (const session of sessions) {
    t.same(Object.keys(session).sort(), ['client_ip', 'created_at', 'current', 'ends_at', 'expires_at', 'id', 'last_used_at', 'user_agent'])
    t.ok(Date.parse(session.created_at) <= Date.parse(session.last_used_at))
  }

  const stranger = await signedIn(app)
  const notMine = await app.inject({ method: 'DELETE', url: `/api/users/me/sessions/${claimsOf(stranger.access_token).sid}`, headers: bearer(laptop.access_token) })
  t.equal(notMine.statusCode, 404, 'another user\'s sign-in cannot be ended')
  t.equal((await me(app, stranger.access_token)).statusCode, 200)
  t.equal((await app.inject({ method: 'DELETE', url: '/api/users/me/sessions/not-a-uuid', headers: bearer(laptop.access_token) })).statusCode, 400)

  const current = await app.inject({ method: 'DELETE', url: `/api/users/me/sessions/${claimsOf(laptop.access_token).sid}`, headers: bearer(laptop.access_token) })
  t.equal(current.statusCode, 204, 'ending the current sign-in is allowed')
  t.equal((await me(app, laptop.access_token)).statusCode, 401, 'and signs this client out')
  t.equal((await app.inject({ method: 'GET', url: '/api/users/me/sessions', headers: bearer(phone.access_token) })).json().length, 1)
  t.equal((await app.inject({ method: 'GET', url: '/api/users/me/sessions' })).statusCode, 401)
})

t.test('a refresh retried within REFRESH_GRACE_SECONDS succeeds, and the pair it replaces stops working; later, reuse ends the sign-in', async (t) => {
  const app = await buildApp(t, env({ REFRESH_GRACE_SECONDS: '10' }))
  const session = await signedIn(app)
  const lost = (await refresh(app, session.refresh_token)).json()
  const retried = await refresh(app, session.refresh_token)
  t.equal(retried.statusCode, 200, 'the retry gets a new pair')
  const kept = retried.json()
  t.not(kept.refresh_token, lost.refresh_token)
  t.equal((await me(app, kept.access_token)).statusCode, 200)
  t.equal((await me(app, lost.access_token)).statusCode, 401, 'the pair the retry replaced: its access token no longer works')
  t.equal((await me(app, session.access_token)).statusCode, 401, 'nor do older ones')
  const next = await refresh(app, kept.refresh_token)
  t.equal(next.statusCode, 200, 'the sign-in goes on with the retry\'s pair')

  // Past the window: reuse of that token is reuse, and ends the sign-in.
  await admin.query("UPDATE refresh_tokens SET used_at = used_at - interval '11 seconds' WHERE used_at IS NOT NULL")
  t.match((await refresh(app, kept.refresh_token)).json(), { error: 'invalid_grant', error_description: /already used/ })
  t.match((await refresh(app, next.json().refresh_token)).json(), { error: 'invalid_grant' }, 'the sign-in is ended')
  t.equal((await me(app, next.json().access_token)).statusCode, 401)

  const replaced = await signedIn(app)
  const lostAgain = (await refresh(app, replaced.refresh_token)).json()
  t.equal((await refresh(app, replaced.refresh_token)).statusCode, 200)
  t.match((await refresh(app, lostAgain.refresh_token)).json(), { error: 'invalid_grant', error_description: /already used/ },
    'the replaced refresh token, presented later, counts as reuse')
})

t.test('the token endpoint speaks OAuth 2.0 to a standard client library (openid-client) over HTTP', async (t) => {
  const app = await buildApp(t, env())
  const account = newAccount('keeper')
  await register(app, account)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as { port: number }
  const base = `http://127.0.0.1:${port}`
  const config = new client.Configuration({ issuer: base, token_endpoint: `${base}/api/auth/token` }, 'spinta-test-client', undefined, client.None())
  client.allowInsecureRequests(config)

  const granted = await client.genericGrantRequest(config, 'password', { username: account.email, password: account.password })
  t.equal(granted.token_type, 'bearer')
  t.type(granted.refresh_token, 'string')
  t.equal(granted.expires_in, 1800)
  t.equal((await me(app, granted.access_token)).statusCode, 200)

  const refreshed = await client.refreshTokenGrant(config, granted.refresh_token as string)
  t.not(refreshed.refresh_token, granted.refresh_token)
  t.equal((await me(app, refreshed.access_token)).statusCode, 200)

  const wrong = await client.genericGrantRequest(config, 'password', { username: account.email, password: 'not the password at all' }).catch((error: unknown) => error)
  t.match(wrong, { error: 'invalid_grant', error_description: 'Incorrect email or password', status: 400 }, 'wrong credentials reach the library as invalid_grant')
  const spent = await client.refreshTokenGrant(config, 'never-issued').catch((error: unknown) => error)
  t.match(spent, { error: 'invalid_grant', status: 400 })
  const unsupported = await client.genericGrantRequest(config, 'client_credentials', {}).catch((error: unknown) => error)
  t.match(unsupported, { error: 'unsupported_grant_type', status: 400 })
})

t.test('passwords as NIST SP 800-63B-4 asks, the same at registration and password change', async (t) => {
  // Every registration asks for a mail: this test registers more than a client IP may in a minute.
  const app = await buildApp(t, env({ MAIL_REQUESTS_PER_MINUTE: '100' }))
  const refusal = async (passwordTried: string, email = newAccount('keeper').email) => {
    const response = await register(app, { email, password: passwordTried, full_name: 'Someone' })
    t.equal(response.statusCode, 400, JSON.stringify(passwordTried))
    return response.json() as { detail: string, errors: Array<{ path: string, message: string }> }
  }
  t.match(await refusal('fourteen chars'), { detail: /at least 15 characters \(it has 14\): a few unrelated words/, errors: [{ path: '/body/password' }] })
  t.match(await refusal(' '.repeat(8)), { errors: [{ path: '/body/password', message: /at least 15/ }] }, 'eight spaces')
  t.match(await refusal('passwordpassword'), { detail: /list of common or breached passwords/ }, 'a listed password')
  t.match(await refusal('PasswordPassword'), { detail: /list of common or breached passwords/ }, 'in any letter case')
  t.match(await refusal('qwerty uiop 12345'), { detail: /list of common or breached passwords/ }, 'with spaces between its parts')
  t.match(await refusal('my name is penalty-kicker', 'penalty-kicker@example.com'), { detail: /must not contain your email address's name/ })
  t.match(await refusal('x'.repeat(129)), { detail: /more than 128 characters/ })

  t.equal((await register(app, { ...newAccount('keeper'), password: 'fifteen chars!!' })).statusCode, 202, '15 characters, no composition rules')
  t.equal((await register(app, { ...newAccount('keeper'), password: 'ü'.repeat(64) + ' and more' })).statusCode, 202, 'more than 64 characters are allowed')

  // NFKC: "ﬁ" (one ligature) and "fi", a precomposed "é" and "e" + combining acute, are one password.
  const unicode = { ...newAccount('keeper'), password: 'ﬁnal whistle café blue' }
  t.equal((await register(app, unicode)).statusCode, 202)
  t.equal((await signIn(app, unicode.email, 'final whistle cafe\u0301 blue')).statusCode, 200, 'signs in however it is typed')

  // A hash made before normalisation, of a password NFKC changes, still verifies.
  const legacy = { ...newAccount('keeper'), password: 'ﬁeld goal kicker one' }
  t.equal((await register(app, legacy)).statusCode, 202)
  const { hash } = await import('@node-rs/argon2')
  await admin.query('UPDATE users SET password_hash = $2 WHERE email = $1', [legacy.email, await hash(legacy.password, { memoryCost: 19_456, timeCost: 2, parallelism: 1 })])
  t.equal((await signIn(app, legacy.email, legacy.password)).statusCode, 200, 'an existing hash of the password as typed')

  const session = await signedIn(app)
  const change = async (next: string) => app.inject({
    method: 'POST', url: '/api/users/me/password', headers: bearer(session.access_token), payload: { current_password: session.password, new_password: next }
  })
  const listed = await change('1234567890qwerty')
  t.equal(listed.statusCode, 400)
  t.match(listed.json(), { errors: [{ path: '/body/new_password', message: /common or breached/ }] }, 'password change applies the same rules')
  t.match((await change('short one')).json(), { errors: [{ path: '/body/new_password', message: /at least 15/ }] })
})

t.test('one account takes ACCOUNT_LOGIN_ATTEMPTS_PER_HOUR guesses however many addresses they come from, while its owner still signs in', async (t) => {
  const app = await buildApp(t, env({ ACCOUNT_LOGIN_ATTEMPTS_PER_HOUR: '5' }))
  const owner = await signedInFrom(app, { remoteAddress: '198.51.100.1' })
  const cookie = (await signIn(app, owner.email, owner.password, { remoteAddress: '198.51.100.1' })).cookies.find((c) => c.name === DEVICE_COOKIE)
  t.match(cookie, { httpOnly: true, secure: true, sameSite: 'Strict', path: '/api/auth/token' }, 'a signed, HttpOnly, Secure device cookie')

  // Every guess from a new address: no per-address limit ever applies.
  const statuses: number[] = []
  for (let guess = 1; guess <= 8; guess++) statuses.push((await signIn(app, owner.email, `wrong guess number ${guess}`, { remoteAddress: `203.0.113.${guess}` })).statusCode)
  t.same(statuses, [400, 400, 400, 400, 429, 429, 429, 429], 'the owner\'s first sign-in, from a client then new, counted: four guesses answered, then refused')
  const refused = await signIn(app, owner.email.toUpperCase(), owner.password, { remoteAddress: '203.0.113.99' })
  t.equal(refused.statusCode, 429, 'the right password from a new client is refused too, whatever the letter case')
  const retryAfter = Number(refused.headers['retry-after'])
  t.ok(retryAfter > 3500 && retryAfter <= 3600, 'Retry-After says when the hour ends')
  t.match(refused.json(), { status: 429, detail: /^Too many sign-in attempts for this account; retry in \d+ s$/ })

  const withCookie = await signIn(app, owner.email, owner.password, { remoteAddress: '192.0.2.200', headers: { cookie: `${DEVICE_COOKIE}=${cookie?.value}` } })
  t.equal(withCookie.statusCode, 200, 'the owner\'s device, from anywhere, keeps its own allowance')
  t.equal((await signIn(app, owner.email, owner.password, { remoteAddress: '198.51.100.1' })).statusCode, 200, 'so does the address the owner signed in from')
  const forged = await signIn(app, owner.email, owner.password, { remoteAddress: '192.0.2.201', headers: { cookie: `${DEVICE_COOKIE}=${cookie?.value.replace(/^./, (c) => c === 'A' ? 'B' : 'A')}` } })
  t.equal(forged.statusCode, 429, 'an altered cookie is no one\'s device')

  // The window's end, brought forward rather than waited for.
  await admin.query("UPDATE rate_limits SET expires_at = now() - interval '1 second' WHERE key LIKE 'account %'")
  t.equal((await signIn(app, owner.email, owner.password, { remoteAddress: '203.0.113.100' })).statusCode, 200, 'after the hour, new clients are answered again')
})

t.test('per-address limits group IPv6 by /64 and by /48', async (t) => {
  const app = await buildApp(t, env({ PASSWORD_CHECKS_PER_MINUTE: '2' }))
  // Each attempt from a new /64 of one /48, for a new username each time.
  const statuses: number[] = []
  for (let subnet = 1; subnet <= 10; subnet++) statuses.push((await signIn(app, newAccount('keeper').email, 'a wrong guess of some length', { remoteAddress: `2001:db8:7:${subnet.toString(16)}::1` })).statusCode)
  t.same(statuses, [400, 400, 400, 400, 400, 400, 400, 400, 429, 429], 'four times the per-address budget for the /48, then refused')
  const sameSixtyFour = await signIn(app, newAccount('keeper').email, 'a wrong guess', { remoteAddress: '2001:db8:8:1::1' })
  t.equal(sameSixtyFour.statusCode, 400, 'another /48 is not limited')
  t.equal((await signIn(app, newAccount('keeper').email, 'a wrong guess', { remoteAddress: '2001:db8:8:1::2' })).statusCode, 400)
  t.equal((await signIn(app, newAccount('keeper').email, 'a wrong guess', { remoteAddress: '2001:db8:8:1:ffff::3' })).statusCode, 429, 'one /64 shares one count')
})

t.test('no password or token reaches the log: a run through every account route, and bodies logged as careless code would', async (t) => {
  const logs = captureLogs()
  const smtp = await startSmtpServer(t)
  const app = await buildApp(t, env({ REFRESH_GRACE_SECONDS: '0', SMTP_URL: smtp.url, MAIL_RETRY_MIN_MS: '20', MAIL_RETRY_MAX_MS: '200' }), { logs })
  const account = newAccount('keeper')
  const newPassword = 'a quite different pass phrase 7'
  const resetPassword = 'yet another unlisted pass phrase 8'
  const bodies: Array<Record<string, string>> = []
  const sent = <Body extends Record<string, string>>(body: Body) => { bodies.push(body); return body }

  t.equal((await register(app, sent({ ...account }))).statusCode, 202)
  const verification = tokenIn(await smtp.nextMail(account.email))
  t.equal((await app.inject({ method: 'POST', url: '/api/auth/verify-email', payload: sent({ token: verification }) })).statusCode, 204)
  const first = await signIn(app, account.email, account.password)
  bodies.push({ password: account.password })
  const { access_token: accessToken, refresh_token: refreshToken } = first.json()
  const second = (await refresh(app, refreshToken)).json()
  t.equal((await me(app, second.access_token)).statusCode, 200)
  const extra = (await signIn(app, account.email, account.password)).json()
  const sessions: Array<{ id: string, current: boolean }> = (await app.inject({ method: 'GET', url: '/api/users/me/sessions', headers: bearer(extra.access_token) })).json()
  const current = sessions.find((session) => session.current)?.id
  t.equal((await app.inject({ method: 'DELETE', url: `/api/users/me/sessions/${current}`, headers: bearer(extra.access_token) })).statusCode, 204)
  t.equal((await app.inject({ method: 'POST', url: '/api/auth/logout', payload: sent({ refresh_token: extra.refresh_token }) })).statusCode, 204)
  t.equal((await refresh(app, refreshToken)).statusCode, 400, 'a reused token, which is warned of')
  const third = (await signIn(app, account.email, account.password)).json()
  t.equal((await app.inject({
    method: 'POST', url: '/api/users/me/password', headers: bearer(third.access_token), payload: sent({ current_password: account.password, new_password: newPassword })
  })).statusCode, 204)
  t.equal((await smtp.nextMail(account.email)).subject, 'Your Spinta password was changed')
  t.equal((await app.inject({ method: 'POST', url: '/api/auth/password-reset', payload: sent({ email: account.email }) })).statusCode, 202)
  const reset = tokenIn(await smtp.nextMail(account.email))
  t.equal((await app.inject({ method: 'POST', url: '/api/auth/password-reset/confirm', payload: sent({ token: reset, new_password: resetPassword }) })).statusCode, 204)
  const fourth = (await signIn(app, account.email, resetPassword)).json()
  t.equal((await app.inject({ method: 'GET', url: '/api/users/me/export', headers: bearer(fourth.access_token) })).statusCode, 200)
  t.equal((await app.inject({ method: 'DELETE', url: '/api/users/me', headers: bearer(fourth.access_token), payload: sent({ password: resetPassword }) })).statusCode, 204)

  // Careless code logging whole bodies, the response of the token endpoint included.
  for (const body of [...bodies, first.json(), second]) app.log.info({ body, nested: { deeper: body } }, 'careless body log')
  const careless = logs.lines.filter((line) => line.msg === 'careless body log') as Array<{ body: Record<string, string> }>
  t.match(careless[careless.length - 1].body, { access_token: '[redacted]', refresh_token: '[redacted]' })
  t.ok(logs.lines.some((line) => line.msg === 'a refresh token was presented again after use: its sign-in is ended'), 'the run logged its warnings')
  const secrets = [account.password, newPassword, resetPassword, accessToken, refreshToken, second.access_token, second.refresh_token, extra.access_token, extra.refresh_token, third.access_token,
    fourth.access_token, fourth.refresh_token, verification, reset, smtp.password]
  for (const secret of secrets) t.notOk(logs.text().includes(secret), `${secret.slice(0, 12)}… is nowhere in the log`)
})
