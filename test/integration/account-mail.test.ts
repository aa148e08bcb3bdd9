import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { buildApp, captureLogs, startSharedDatabase } from '../helper.js'
import { bearer, newAccount as sharedNewAccount, refresh, signIn } from '../accounts.js'
import { startSmtpServer, tokenIn } from '../smtp.js'

const APP_URL = 'https://app.example.com/spinta'
// One database and one real SMTP server for the file; each test builds its own app on them.
const smtp = await startSmtpServer(t)
const { admin, env } = await startSharedDatabase(t, {
  SMTP_URL: smtp.url,
  MAIL_FROM: 'Spinta <no-reply@spinta.example>',
  APP_URL,
  // Retries a few milliseconds apart, so a test waits for the mail rather than for minutes.
  MAIL_RETRY_MIN_MS: '20',
  MAIL_RETRY_MAX_MS: '200'
})

/** A new account whose name needs escaping in HTML. */
function newAccount () {
  const account = sharedNewAccount('parent')
  return { ...account, full_name: `Parent <${account.email.split('@')[0]}> & "Co"` }
}

const me = (app: FastifyInstance, accessToken: string) =>
  app.inject({ method: 'GET', url: '/api/users/me', headers: { authorization: `Bearer ${accessToken}` } })
const post = (app: FastifyInstance, url: string, payload: Record<string, string>, headers: Record<string, string> = {}, remoteAddress = '127.0.0.1') =>
  app.inject({ method: 'POST', url, payload, headers, remoteAddress })
const register = (app: FastifyInstance, account: Record<string, string>, remoteAddress?: string) => post(app, '/api/auth/register', account, {}, remoteAddress)

/** A registered account, its verification mail taken, signed in. */
async function signedUp (app: FastifyInstance) {
  const account = newAccount()
  await register(app, account)
  const verification = await smtp.nextMail(account.email)
  const tokens = (await signIn(app, account.email, account.password)).json() as { access_token: string, refresh_token: string }
  return { ...account, ...tokens, verificationToken: tokenIn(verification) }
}

/** A clock the test moves. */
function testClock () {
  let offsetMs = 0
  return { now: () => new Date(Date.now() + offsetMs), advance: (ms: number) => { offsetMs += ms } }
}

t.test('registration: 202, a verification mail over SMTP; sign-in works before verification; the link verifies once', async (t) => {
  const app = await buildApp(t, env())
  const account = newAccount()
  const registered = await register(app, account)
  t.equal(registered.statusCode, 202)
  const mail = await smtp.nextMail(account.email)
  t.equal(mail.subject, 'Confirm your email address for Spinta')
  t.match(mail.from?.value, [{ name: 'Spinta', address: 'no-reply@spinta.example' }], 'from MAIL_FROM')
  const token = tokenIn(mail)
  t.ok(Buffer.from(token, 'base64url').length >= 16, 'at least 128 random bits')
  t.match(mail.text, `${APP_URL}/verify-email?token=${token}`)
  t.match(mail.html, `href="${APP_URL}/verify-email?token=${token}"`, 'the HTML part links too')
  t.match(mail.html, 'Hello Parent &#60;parent', 'and escapes the name')
  t.notMatch(mail.html, '<parent')

  const signedIn = await signIn(app, account.email, account.password)
  t.equal(signedIn.statusCode, 200, 'an unverified account signs in')
  const { access_token: accessToken } = signedIn.json()
  t.equal((await me(app, accessToken)).json().email_verified, false)

  t.equal((await post(app, '/api/auth/verify-email', { token })).statusCode, 204)
  t.equal((await me(app, accessToken)).json().email_verified, true)
  const again = await post(app, '/api/auth/verify-email', { token })
  t.equal(again.statusCode, 400, 'a used token is refused')
  t.match(again.json(), { detail: /invalid, expired or already used/ })
  t.equal((await post(app, '/api/auth/verify-email', { token: 'never-issued' })).statusCode, 400)

  const { rows } = await admin.query('SELECT count(*)::int AS n FROM email_tokens WHERE token_hash = $1', [token])
  t.equal(rows[0].n, 0, 'the token itself is never stored')
})

t.test('registering a known address answers exactly like a new one; its owner is told, and only the owner\'s password signs in', async (t) => {
  const app = await buildApp(t, env())
  const owner = await signedUp(app)
  const intruder = { email: owner.email.toUpperCase(), password: 'the intruder\'s own passphrase', full_name: 'Someone Else' }
  const fresh = newAccount()

  const [known, unknown] = [await register(app, intruder), await register(app, fresh)]
  t.equal(known.statusCode, 202)
  t.equal(unknown.statusCode, 202)
  t.same(known.json(), unknown.json(), 'the same body')
  t.same(Object.keys(known.headers).sort(), Object.keys(unknown.headers).sort(), 'the same headers')

  const told = await smtp.nextMail(owner.email)
  t.equal(told.subject, 'Someone tried to register at Spinta with your address')
  t.notMatch(told.text, /token=/, 'no link with a token: nothing was changed')
  t.match(told.text, `${APP_URL}/reset-password`)
  t.equal((await smtp.nextMail(fresh.email)).subject, 'Confirm your email address for Spinta', 'the new address got its verification')

  t.match((await signIn(app, owner.email, intruder.password)).json(), { error: 'invalid_grant' }, 'the intruder\'s password does not sign in')
  t.equal((await signIn(app, owner.email, owner.password)).statusCode, 200, 'the owner\'s still does')
  t.equal((await signIn(app, fresh.email, fresh.password)).statusCode, 200, 'the new account signs in')
})

t.test('a resent verification voids the earlier link; a verified address gets 409', async (t) => {
  const app = await buildApp(t, env())
  const account = await signedUp(app)
  const resent = await post(app, '/api/auth/verify-email/resend', {}, bearer(account.access_token))
  t.equal(resent.statusCode, 202)
  const token = tokenIn(await smtp.nextMail(account.email))
  t.equal((await post(app, '/api/auth/verify-email', { token: account.verificationToken })).statusCode, 400, 'the earlier link no longer works')
  t.equal((await post(app, '/api/auth/verify-email', { token })).statusCode, 204)
  const verified = await post(app, '/api/auth/verify-email/resend', {}, bearer(account.access_token))
  t.equal(verified.statusCode, 409)
  t.equal((await app.inject({ method: 'POST', url: '/api/auth/verify-email/resend' })).statusCode, 401, 'resending needs a sign-in')
})

t.test('tokens expire: verification after VERIFY_EMAIL_TOKEN_EXPIRE_HOURS, reset after PASSWORD_RESET_TOKEN_EXPIRE_MINUTES', async (t) => {
  const clock = testClock()
  const app = await buildApp(t, env({ VERIFY_EMAIL_TOKEN_EXPIRE_HOURS: '24', PASSWORD_RESET_TOKEN_EXPIRE_MINUTES: '30' }), { now: clock.now })
  const account = await signedUp(app)
  await post(app, '/api/auth/password-reset', { email: account.email })
  const resetToken = tokenIn(await smtp.nextMail(account.email))

  clock.advance(30 * 60_000 + 1000)
  const expiredReset = await post(app, '/api/auth/password-reset/confirm', { token: resetToken, new_password: 'a brand new password' })
  t.equal(expiredReset.statusCode, 400, 'a reset link 30 minutes old')
  t.equal((await signIn(app, account.email, account.password)).statusCode, 200, 'the password did not change')

  clock.advance(24 * 3_600_000)
  t.equal((await post(app, '/api/auth/verify-email', { token: account.verificationToken })).statusCode, 400, 'a verification link 24 hours old')
  t.equal((await me(app, (await signIn(app, account.email, account.password)).json().access_token)).json().email_verified, false)
})

t.test('password reset: one link sets a new password once, ends every sign-in, verifies the address and notifies', async (t) => {
  const app = await buildApp(t, env())
  const account = await signedUp(app)
  const other = (await signIn(app, account.email, account.password)).json()

  const asked = await post(app, '/api/auth/password-reset', { email: account.email.toUpperCase() })
  t.equal(asked.statusCode, 202)
  const mail = await smtp.nextMail(account.email)
  t.equal(mail.subject, 'Reset your Spinta password')
  const token = tokenIn(mail)
  t.match(mail.text, `${APP_URL}/reset-password?token=${token}`)

  const tooShort = await post(app, '/api/auth/password-reset/confirm', { token, new_password: 'short' })
  t.equal(tooShort.statusCode, 400, 'registration\'s password rules apply')
  t.match(tooShort.json().errors, [{ path: '/body/new_password', message: /at least 15 characters/ }])
  const listed = await post(app, '/api/auth/password-reset/confirm', { token, new_password: 'passwordpassword' })
  t.equal(listed.statusCode, 400)
  t.match(listed.json().errors, [{ path: '/body/new_password', message: /common or breached/ }], 'the breached-password list applies too')

  const newPassword = 'battery staple horse correct'
  t.equal((await post(app, '/api/auth/password-reset/confirm', { token, new_password: newPassword })).statusCode, 204, 'a refused password left the link working')
  t.equal((await post(app, '/api/auth/password-reset/confirm', { token, new_password: 'yet another password' })).statusCode, 400, 'never again')

  for (const session of [account, other]) {
    t.equal((await me(app, session.access_token)).statusCode, 401, 'older access tokens are refused')
    t.equal((await refresh(app, session.refresh_token)).statusCode, 400, 'older sign-ins are ended')
  }
  t.match((await signIn(app, account.email, account.password)).json(), { error: 'invalid_grant' }, 'the old password no longer signs in')
  const signedIn = await signIn(app, account.email, newPassword)
  t.equal(signedIn.statusCode, 200, 'the new one does')
  t.equal((await me(app, signedIn.json().access_token)).json().email_verified, true, 'following the link proved the address')
  t.equal((await smtp.nextMail(account.email)).subject, 'Your Spinta password was changed')
})

t.test('a newer reset link voids the older; a password change voids both kinds of link and notifies', async (t) => {
  const app = await buildApp(t, env())
  const account = await signedUp(app)
  await post(app, '/api/auth/password-reset', { email: account.email })
  const first = tokenIn(await smtp.nextMail(account.email))
  await post(app, '/api/auth/password-reset', { email: account.email })
  const second = tokenIn(await smtp.nextMail(account.email))
  t.equal((await post(app, '/api/auth/password-reset/confirm', { token: first, new_password: 'a brand new password' })).statusCode, 400)

  const changed = await app.inject({
    method: 'POST',
    url: '/api/users/me/password',
    headers: bearer(account.access_token),
    payload: { current_password: account.password, new_password: 'changed the usual way' }
  })
  t.equal(changed.statusCode, 204)
  t.equal((await smtp.nextMail(account.email)).subject, 'Your Spinta password was changed', 'a change notifies')
  t.equal((await post(app, '/api/auth/password-reset/confirm', { token: second, new_password: 'a brand new password' })).statusCode, 400, 'a reset link from before the change')
  t.equal((await post(app, '/api/auth/verify-email', { token: account.verificationToken })).statusCode, 400, 'a verification link from before the change')
})

t.test('a reset for an unknown address answers exactly like a known one, and mails nobody', async (t) => {
  const app = await buildApp(t, env())
  const account = await signedUp(app)
  const unknownAddress = 'nobody-here@example.com'
  const unknown = await post(app, '/api/auth/password-reset', { email: unknownAddress })
  const known = await post(app, '/api/auth/password-reset', { email: account.email })
  t.equal(unknown.statusCode, 202)
  t.same(unknown.json(), known.json())
  t.same(Object.keys(unknown.headers).sort(), Object.keys(known.headers).sort())
  await smtp.nextMail(account.email)
  await app.close()
  t.notOk(smtp.received.some(({ to }) => to.includes(unknownAddress)), 'no mail to the unknown address')
  const { rows } = await admin.query('SELECT count(*)::int AS n FROM mail_outbox WHERE recipient = $1', [unknownAddress])
  t.equal(rows[0].n, 0, 'none queued either')
})

t.test('mail limits: per address from any client, per client IP, refused alike whether the address has an account', async (t) => {
  const app = await buildApp(t, env({ MAILS_PER_ADDRESS_PER_HOUR: '2', MAIL_REQUESTS_PER_MINUTE: '100' }))
  const account = await signedUp(app) // its registration was the address's first mail
  t.equal((await post(app, '/api/auth/password-reset', { email: account.email }, {}, '192.0.2.1')).statusCode, 202)
  const known = await post(app, '/api/auth/password-reset', { email: account.email }, {}, '192.0.2.2')
  t.equal(known.statusCode, 429, 'the third mail for the address, from another client')
  for (const address of ['198.51.100.1', '198.51.100.2']) t.equal((await post(app, '/api/auth/password-reset', { email: 'unknown@example.com' }, {}, address)).statusCode, 202)
  const unknown = await post(app, '/api/auth/password-reset', { email: 'unknown@example.com' }, {}, '198.51.100.3')
  t.equal(unknown.statusCode, 429, 'an unknown address is limited the same')
  t.equal(unknown.json().detail.replace(/\d+ s$/, ''), known.json().detail.replace(/\d+ s$/, ''), 'with the same detail')
  t.ok(Number(unknown.headers['retry-after']) > 60, 'for the rest of the hour')

  const perClient = await buildApp(t, env({ MAIL_REQUESTS_PER_MINUTE: '2' }))
  await admin.query('TRUNCATE rate_limits')
  for (const n of [1, 2]) t.equal((await post(perClient, '/api/auth/password-reset', { email: `someone${n}@example.com` }, {}, '203.0.113.7')).statusCode, 202)
  const limited = await post(perClient, '/api/auth/verify-email', { token: 'guess' }, {}, '203.0.113.7')
  t.equal(limited.statusCode, 429, 'reset requests and presented tokens share the client\'s budget')
  t.match(limited.json().detail, /^Too many account mail requests from this address/)
})

t.test('with the SMTP server stopped, requests still answer; the mail is retried and delivered once it is back', async (t) => {
  const logs = captureLogs()
  const app = await buildApp(t, env(), { logs })
  const account = newAccount()
  await smtp.stop()
  t.teardown(() => smtp.start().catch(() => {}))
  t.equal((await register(app, account)).statusCode, 202, 'registration answers while SMTP is down')

  const failures = () => logs.lines.filter((line) => line.msg === 'mail delivery failed: it will be retried')
  for (let waited = 0; failures().length < 2; waited++) {
    if (waited > 2000) throw new Error('no retried delivery was logged')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  t.match(failures()[0], { level: 40, mailId: String, attempts: 1, retryInMs: 20 })
  t.match(failures()[1], { attempts: 2, retryInMs: 40 }, 'each retry waits twice as long')

  await smtp.start()
  const mail = await smtp.nextMail(account.email)
  t.equal(mail.subject, 'Confirm your email address for Spinta')
  await app.close()
  const delivered = logs.lines.find((line) => line.msg === 'mail delivered')
  t.match(delivered, { level: 30, mailId: failures()[0].mailId }, 'the delivery is logged with the failed mail\'s id')
  t.equal(smtp.received.filter(({ to }) => to.includes(account.email)).length, 1, 'delivered once')
  const { rows } = await admin.query('SELECT count(*)::int AS n FROM mail_outbox')
  t.equal(rows[0].n, 0, 'and no longer queued')
})

t.test('two instances deliver a shared outbox, each mail once', async (t) => {
  const [a, b] = [await buildApp(t, env()), await buildApp(t, env())]
  const to = 'outbox@example.com'
  await Promise.all(Array.from({ length: 24 }, (_, n) => (n % 2 === 0 ? a : b).mail.send({ to, subject: `mail ${n}`, text: 'text', html: '<p>html</p>' })))
  const subjects = []
  for (let n = 0; n < 24; n++) subjects.push((await smtp.nextMail(to)).subject)
  t.same(subjects.sort(), Array.from({ length: 24 }, (_, n) => `mail ${n}`).sort())
  await Promise.all([a.close(), b.close()])
  t.equal(smtp.received.filter((item) => item.to.includes(to)).length, 24, 'none twice')
})

t.test('no token, password or SMTP credential in any log line', async (t) => {
  const logs = captureLogs()
  const app = await buildApp(t, env({ DEBUG: 'true' }), { logs })
  const account = await signedUp(app)
  await post(app, '/api/auth/verify-email', { token: account.verificationToken })
  await post(app, '/api/auth/password-reset', { email: account.email })
  const resetToken = tokenIn(await smtp.nextMail(account.email))
  const newPassword = 'battery staple horse correct'
  await post(app, '/api/auth/password-reset/confirm', { token: resetToken, new_password: newPassword })
  await smtp.nextMail(account.email)
  await app.close()

  const text = logs.text()
  t.match(text, '"msg":"mail delivered"', 'deliveries are logged')
  for (const secret of [account.verificationToken, resetToken, account.password, newPassword, smtp.password, encodeURIComponent(smtp.password)]) {
    t.notOk(text.includes(secret), 'a secret is not in the log')
  }
})

t.test('without SMTP_URL outside production each mail is one info line, link included', async (t) => {
  const logs = captureLogs()
  const app = await buildApp(t, env({ SMTP_URL: undefined }), { logs })
  const account = newAccount()
  t.equal((await register(app, account)).statusCode, 202)
  let line: Record<string, unknown> | undefined
  for (let waited = 0; line === undefined; waited++) {
    if (waited > 2000) throw new Error('the mail was not logged')
    line = logs.lines.find((entry) => (entry.mail as { to?: string } | undefined)?.to === account.email)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  t.match(line, { level: 30, msg: /SMTP_URL is unset/, mail: { subject: 'Confirm your email address for Spinta', text: new RegExp(`${APP_URL}/verify-email\\?token=[\\w-]{43}`) } })
})
