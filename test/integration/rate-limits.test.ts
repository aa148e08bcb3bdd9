import type { QueryResultRow } from 'pg'
import t from 'tap'
import { buildApp, startSharedDatabase, testEnv } from '../helper.js'
import { newAccount, signIn } from '../accounts.js'
import { startTcpProxy } from '../tcp-proxy.js'
import type { Query } from '../../src/database/availability.js'
import { deleteExpiredCounts, rateLimitCounts } from '../../src/rate-limits/counts.js'

// Several instances of the app on one database, as a scaled-out deployment runs them.
const { database, admin, env: envOf } = await startSharedDatabase(t, { LOGIN_ATTEMPTS_PER_MINUTE: '5' })
const env = envOf()
const query: Query = (text, values) => admin.query(text, values)
const newEmail = () => newAccount().email
const wrongPassword = 'a wrong guess'

/** An instance of the app, closed when the test `t` ends. */
const instance = (test: Pick<typeof t, 'teardown'>) => buildApp(test, env)

t.test('two instances share the sign-in limit: five attempts spread across both, the sixth refused at either', async (t) => {
  const [a, b] = [await instance(t), await instance(t)]
  const email = newEmail()
  for (const [attempt, app] of [a, b, a, b, a].entries()) {
    t.equal((await signIn(app, email, wrongPassword)).statusCode, 401, `attempt ${attempt + 1}, at instance ${app === a ? 'a' : 'b'}`)
  }
  for (const app of [a, b]) {
    const refused = await signIn(app, email, wrongPassword)
    t.equal(refused.statusCode, 429, `refused at instance ${app === a ? 'a' : 'b'}`)
    const retryAfter = Number(refused.headers['retry-after'])
    t.ok(retryAfter > 0 && retryAfter <= 60, 'Retry-After is within the minute the window lasts')
  }
})

t.test('concurrent attempts arriving at both instances are each counted once', async (t) => {
  const [a, b] = [await instance(t), await instance(t)]
  const email = newEmail()
  const statuses = await Promise.all(Array.from({ length: 12 }, (_, index) => signIn(index % 2 === 0 ? a : b, email, wrongPassword).then((response) => response.statusCode)))
  t.equal(statuses.filter((status) => status === 401).length, 5, 'exactly LOGIN_ATTEMPTS_PER_MINUTE attempts were checked')
  t.equal(statuses.filter((status) => status === 429).length, 7, 'every other one was refused')
})

t.test('counts survive the instances: a new one refuses, and a window that ended starts again at 1', async (t) => {
  const email = newEmail()
  await t.test('the first instance spends the budget, then stops', async (t) => {
    const a = await instance(t)
    for (let attempt = 1; attempt <= 5; attempt++) await signIn(a, email, wrongPassword)
    t.equal((await signIn(a, email, wrongPassword)).statusCode, 429)
  })
  const restarted = await instance(t)
  t.equal((await signIn(restarted, email, wrongPassword)).statusCode, 429, 'a new instance finds the count')

  // The window's end, brought forward rather than waited for.
  await admin.query("UPDATE rate_limits SET expires_at = now() - interval '1 second'")
  t.equal((await signIn(restarted, email, wrongPassword)).statusCode, 401, 'after the window, the next attempt is checked')
  const { rows } = await admin.query("SELECT count FROM rate_limits WHERE key LIKE 'sign-in %' AND expires_at > now()")
  t.same(rows, [{ count: 1 }], 'and counted as the first of a new window')
})

t.test('expired counts are deleted in batches; counts still running are kept', async (t) => {
  await admin.query('TRUNCATE rate_limits')
  await admin.query(`INSERT INTO rate_limits (key, count, expires_at)
    SELECT 'test expired ' || n, 1, now() - interval '1 second' FROM generate_series(1, 2500) AS n`)
  await admin.query("INSERT INTO rate_limits (key, count, expires_at) VALUES ('test running', 3, now() + interval '1 minute')")
  const statements: number[] = []
  const counting: Query = async <Row extends QueryResultRow>(text: string, values: unknown[]) => {
    const result = await query<Row>(text, values)
    statements.push(result.rowCount ?? 0)
    return result
  }
  t.equal(await deleteExpiredCounts(counting, 1000), 2500)
  t.same(statements, [1000, 1000, 500], 'one DELETE per batch, until a batch finds fewer than it may take')
  const { rows } = await admin.query('SELECT key, count FROM rate_limits')
  t.same(rows, [{ key: 'test running', count: 3 }])

  const app = await instance(t)
  await admin.query("UPDATE rate_limits SET expires_at = now() - interval '1 second'")
  t.equal(await app.deleteExpiredRateLimits(), 1, 'the app\'s own sweep deletes them too')
})

t.test('a count read without adding: 0 with no window open, the count within one', async (t) => {
  const counts = rateLimitCounts(query)
  t.same(await counts.read('test never counted'), { current: 0, ttl: 0 })
  await counts.increment('test counted', 60_000)
  const { current, ttl } = await counts.increment('test counted', 60_000)
  t.equal(current, 2)
  t.ok(ttl > 0 && ttl <= 60_000)
  t.equal((await counts.read('test counted')).current, 2, 'reading does not add')
})

t.test('while the database is unreachable a sign-in is refused with 503 and Retry-After at the limit, not let through', async (t) => {
  const proxy = await startTcpProxy(database.socketPath)
  t.teardown(() => proxy.close())
  const app = await buildApp(t, testEnv({ url: proxy.url(database.url) }))
  proxy.refuse()
  const refused = await signIn(app, newEmail(), wrongPassword)
  t.equal(refused.statusCode, 503)
  t.ok(Number(refused.headers['retry-after']) > 0)
  t.match(refused.json(), { status: 503, detail: /database is unavailable/ })
})
