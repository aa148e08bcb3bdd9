import { setImmediate } from 'node:timers/promises'
import t, { type Test } from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { buildApp, captureLogs, startTestDatabase, testEnv, type Env } from '../helper.js'
import { startTcpProxy, type TcpProxy } from '../tcp-proxy.js'
import { newAccount, register, signedIn, signIn, type SignedIn } from '../accounts.js'
import { SUSPECT_AFTER_MS } from '../../plugins/app/database-availability.js'

const HEALTH_TIMEOUT_MS = 1000
/** What docs/deployment.md promises a request that needs an unreachable database (unit-tested for the defaults). */
const REFUSED_WITHIN_MS = 2 * SUSPECT_AFTER_MS + HEALTH_TIMEOUT_MS
/** A bound only a hang reaches: ten times that promise. */
const HANG_MS = 10 * REFUSED_WITHIN_MS
/**
 * The pool's own timeouts, well past HANG_MS: a request answered within HANG_MS was answered by
 * the availability check, not by the pool giving up.
 */
const POOL_TIMEOUTS = { DATABASE_CONNECT_TIMEOUT_MS: String(3 * HANG_MS), DATABASE_QUERY_TIMEOUT_MS: String(3 * HANG_MS) }

const database = await startTestDatabase(t)
const password = decodeURIComponent(new URL(database.url).password)

async function appBehindProxy (t: Test, overrides: Env = {}) {
  const proxy = await startTcpProxy(database.socketPath)
  t.teardown(() => proxy.close())
  const logs = captureLogs()
  const app = await buildApp(t, testEnv({ url: proxy.url(database.url) }, { HEALTH_TIMEOUT_MS: String(HEALTH_TIMEOUT_MS), ...POOL_TIMEOUTS, ...overrides }), { logs })
  return { app, proxy, logs }
}

/** The four requests that need the database, sent at once, each with the time it took. */
function databaseRequests (app: FastifyInstance, { access_token: accessToken, email, password, full_name: fullName }: SignedIn, newEmail: string) {
  const timed = async (request: Promise<LightMyRequestResponse>) => {
    const started = performance.now()
    const response = await request
    return { response, elapsedMs: performance.now() - started }
  }
  const me = () => app.inject({ method: 'GET', url: '/api/users/me', headers: { authorization: `Bearer ${accessToken}` } })
  return Promise.all([
    timed(me()),
    timed(me()),
    timed(register(app, { email: newEmail, password, full_name: fullName })),
    timed(signIn(app, email, password))
  ])
}

function assertRefused (t: Test, { response, elapsedMs }: { response: LightMyRequestResponse, elapsedMs: number }) {
  const label = `${response.json().instance}`
  t.equal(response.statusCode, 503, `${label}: 503`)
  t.match(response.headers['content-type'], /^application\/problem\+json/)
  t.ok(Number(response.headers['retry-after']) > 0, `${label}: Retry-After`)
  const body = response.json()
  t.match(body.detail, /database is unavailable/)
  t.equal(body.requestId, response.headers['x-request-id'])
  t.notMatch(response.body, /127\.0\.0\.1|postgres|spinta-db/, 'no host, user or socket')
  t.notOk(response.body.includes(password), 'no password')
  t.ok(elapsedMs < HANG_MS, `${label} answered in ${Math.round(elapsedMs)} ms, not after the pool's own timeouts`)
}

/**
 * Polls `/api/users/me` until it answers 200. The first recheck that passes ends the outage, and
 * they run every second: only a hang lasts HANG_MS.
 */
async function servedAgain (t: Test, app: FastifyInstance, accessToken: string): Promise<void> {
  const deadline = performance.now() + HANG_MS
  while (performance.now() < deadline) {
    const response = await app.inject({ method: 'GET', url: '/api/users/me', headers: { authorization: `Bearer ${accessToken}` } })
    if (response.statusCode === 200) {
      t.pass('served again once the database is back, without a restart')
      return
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  t.fail(`not served again within ${HANG_MS} ms of the database's return`)
}

/** The failure each outage began with, as logged. */
function outageCauses (logs: ReturnType<typeof captureLogs>): unknown[] {
  return logs.lines.filter((line) => String(line.msg).startsWith('the database is unreachable')).map((line) => line.failure)
}

/** After recovery: the refused registration left no row, and the same registration now succeeds. */
async function nothingHalfDone (t: Test, app: FastifyInstance, email: string): Promise<void> {
  const { rows } = await app.pg.query('SELECT count(*)::int AS n FROM users WHERE email = $1', [email])
  t.equal(rows[0].n, 0, 'the refused registration left no row')
  const retried = await register(app, { ...newAccount('retried'), email })
  t.equal(retried.statusCode, 202, 'and succeeds when retried')
}

function assertOutageLogged (t: Test, logs: ReturnType<typeof captureLogs>, refusedAtLeast: number) {
  const lines = logs.lines
  const refused = lines.filter((line) => line.msg === 'request completed' && line.statusCode === 503).length
  t.ok(refused >= refusedAtLeast, `${refused} requests refused`)
  t.equal(lines.filter((line) => line.msg === 'request refused: the database cannot answer' && line.level === 40).length, refused, 'one warning per refused request')
  // Each change of state is logged once, however many requests meet it: a slow check on a busy
  // machine may make one outage two, but never two starts in a row.
  const changes = lines.map((line) => String(line.msg)).filter((msg) => /the database is (unreachable|reachable again)/.test(msg))
    .map((msg) => msg.includes('reachable again') ? 'end' : 'start')
  t.ok(changes.length >= 2 && changes.every((change, i) => change === (i % 2 === 0 ? 'start' : 'end')) && changes.at(-1) === 'end',
    `the outage's start and end, each logged once: ${changes.join(', ')}`)
  t.same(lines.filter((line) => Number(line.level) >= 50), [], 'no error lines')
  t.notOk(logs.text().includes(password), 'no password in the log')
}

t.test('database black-holed: every route that needs it answers 503 in time; the rest is unaffected; it recovers', async (t) => {
  const { app, proxy, logs } = await appBehindProxy(t)
  const session = await signedIn(app)
  const accessToken = session.access_token
  proxy.blackhole()

  const refused = await databaseRequests(app, session, 'blackhole@example.com')
  for (const answer of refused) assertRefused(t, answer)
  t.equal(app.databaseAvailability.available, false, 'the outage is known')
  // pg's own per-query timeout on the check may fire first: it is the same HEALTH_TIMEOUT_MS.
  t.match(outageCauses(logs)[0], new RegExp(`^(no answer within ${HEALTH_TIMEOUT_MS} ms|query timed out)$`), 'ended by the check\'s timeout')

  // Known down: refused at once, without waiting on the pool.
  let acquired = 0
  app.pg.pool.on('acquire', () => { acquired++ })
  const again = await databaseRequests(app, session, 'blackhole@example.com')
  for (const answer of again) assertRefused(t, answer)
  t.equal(acquired, 0, 'no pooled connection was waited for while the outage was known')

  for (const url of ['/', '/api/health/live', '/openapi.json', '/docs/json', '/redoc']) {
    t.equal((await app.inject({ method: 'GET', url })).statusCode, 200, `${url} does not need the database`)
  }

  proxy.forward()
  await servedAgain(t, app, accessToken)
  await nothingHalfDone(t, app, 'blackhole@example.com')
  assertOutageLogged(t, logs, refused.length + again.length)
})

t.test('database stopped: every route that needs it answers 503 at once; restarted: served again without a restart', async (t) => {
  const logs = captureLogs()
  const app = await buildApp(t, testEnv(database, { HEALTH_TIMEOUT_MS: String(HEALTH_TIMEOUT_MS), ...POOL_TIMEOUTS }), { logs })
  const session = await signedIn(app)
  const accessToken = session.access_token
  await database.stop()

  const refused = await databaseRequests(app, session, 'stopped@example.com')
  for (const answer of refused) assertRefused(t, answer)
  t.notMatch(outageCauses(logs)[0], /no answer within|timed out/, 'told at once by the failed connection, not by a timeout')
  t.equal((await app.inject({ method: 'GET', url: '/' })).statusCode, 200, 'GET / does not need the database')

  await database.start()
  await servedAgain(t, app, accessToken)
  await nothingHalfDone(t, app, 'stopped@example.com')
  assertOutageLogged(t, logs, refused.length)
})

t.test('a slow query on a healthy database is not cut short', async (t) => {
  // The checks it sets off must pass: a health timeout only a hang reaches.
  const { app } = await appBehindProxy(t, { HEALTH_TIMEOUT_MS: String(HANG_MS) })
  const { rows } = await app.databaseAvailability.guard(() => app.pg.query('SELECT pg_sleep(1.5), 42 AS answer'))
  t.equal(rows[0].answer, 42, 'a query pending past several checks still completes')
  t.equal(app.databaseAvailability.available, true)
})

t.test('every pooled connection busy: 503 once the pool\'s wait runs out, saying so; the database is not taken for down', async (t) => {
  const proxy: TcpProxy = await startTcpProxy(database.socketPath)
  t.teardown(() => proxy.close())
  // The check that tells busy from down must pass: a health timeout only a hang reaches.
  const app = await buildApp(t, testEnv({ url: proxy.url(database.url) }, { DATABASE_POOL_MAX: '1', DATABASE_CONNECT_TIMEOUT_MS: '1000', HEALTH_TIMEOUT_MS: String(HANG_MS) }))
  const session = await signedIn(app)
  const accessToken = session.access_token
  const held = await app.pg.connect()
  t.teardown(() => held.release())
  const response = await app.inject({ method: 'GET', url: '/api/users/me', headers: { authorization: `Bearer ${accessToken}` } })
  t.equal(response.statusCode, 503)
  t.ok(Number(response.headers['retry-after']) > 0, 'Retry-After')
  t.match(response.json().detail, /Every database connection is busy/)
  t.equal(app.databaseAvailability.available, true, 'the database itself answered')
})

t.test('the readiness report and request refusals agree at every moment of an outage and its end', async (t) => {
  const { app, proxy } = await appBehindProxy(t)
  const { access_token: accessToken } = await signedIn(app)
  const me = async () => (await app.inject({ method: 'GET', url: '/api/users/me', headers: { authorization: `Bearer ${accessToken}` } })).statusCode
  // Readiness stays 200 through an outage (the database is shared by every instance); its database check says what requests meet.
  const databaseCheck = async () => {
    const ready = await app.inject({ method: 'GET', url: '/api/health/ready' })
    t.equal(ready.statusCode, 200, 'readiness keeps the instance in rotation')
    return ready.json().checks['postgres:responseTime'][0].status as string
  }

  proxy.blackhole()
  t.equal(await databaseCheck(), 'fail', 'the readiness report shows the database failing once it stops answering')
  t.equal(await me(), 503, 'and requests that need it are refused from that moment')

  // Each round a probe, then a request: served exactly when the check just passed. A bound only a
  // hang reaches: the recheck runs every second.
  proxy.forward()
  const disagreements: string[] = []
  const deadline = performance.now() + 30_000
  let rounds = 0
  for (let check = 'fail'; check !== 'pass' && performance.now() < deadline; rounds++) {
    check = await databaseCheck()
    const request = await me()
    if (request !== (check === 'pass' ? 200 : 503)) disagreements.push(`round ${rounds}: database check ${check}, request ${request}`)
    await setImmediate()
  }
  t.same(disagreements, [], `the report and requests agreed in each of ${rounds} rounds`)
  t.equal(await databaseCheck(), 'pass', 'the database check passes again')

  proxy.blackhole()
  t.equal(await me(), 503, 'a request finds the next outage')
  t.equal(await databaseCheck(), 'fail', 'and the report agrees')
  proxy.forward()
})
