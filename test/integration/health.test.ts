import { setImmediate, setTimeout as sleep } from 'node:timers/promises'
import { isDeepStrictEqual } from 'node:util'
import t from 'tap'
import type { Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { buildApp, startTestDatabase, testEnv, type Env } from '../helper.js'
import { problemIssues } from '../problem.js'
import { startTcpProxy, type TcpProxy } from '../tcp-proxy.js'
import { packageVersion } from '../../src/project.js'

/** The black-hole test's health timeout: a check there can only end by it. */
const HEALTH_TIMEOUT_MS = 500
/**
 * A bound only a hang reaches; also the health timeout of the other tests, whose checks are meant
 * to pass or to fail at once, so a slow check on a busy machine is not a failure.
 */
const HANG_MS = 30_000

const database = await startTestDatabase(t)
const password = decodeURIComponent(new URL(database.url).password)

async function appBehindProxy (t: Test, overrides: Env = {}): Promise<{ app: FastifyInstance, proxy: TcpProxy }> {
  const proxy = await startTcpProxy(database.socketPath)
  t.teardown(() => proxy.close())
  const app = await buildApp(t, testEnv({ url: proxy.url(database.url) }, {
    HEALTH_TIMEOUT_MS: String(HANG_MS),
    DATABASE_CONNECT_TIMEOUT_MS: '1000',
    ...overrides
  }))
  return { app, proxy }
}

async function timed (app: FastifyInstance, url: string) {
  const started = performance.now()
  const response = await app.inject({ method: 'GET', url })
  return { response, elapsedMs: performance.now() - started }
}

/** Polls readiness until it passes without a warning: each probe is a check of its own, so only a hang lasts HANG_MS. */
async function readyAgain (t: Test, app: FastifyInstance): Promise<void> {
  const deadline = performance.now() + HANG_MS
  while (performance.now() < deadline) {
    if ((await app.inject({ method: 'GET', url: '/api/health/ready' })).json().status === 'pass') {
      t.pass('ready again without a restart')
      return
    }
    // A probe that joins a query already past its deadline is answered without any I/O: let the
    // query's own I/O run between probes, or it could never settle.
    await setImmediate()
  }
  t.fail(`not ready again within ${HANG_MS} ms`)
}

/**
 * The database failing is not this instance's failure: readiness stays 200, so a load balancer
 * keeps the instance (and every other) in rotation, and warns, with the failed check.
 */
function assertDatabaseWarning (t: Test, response: { statusCode: number, json: () => any }) {
  t.equal(response.statusCode, 200, 'ready stays 200')
  const body = response.json()
  t.equal(body.status, 'warn')
  t.equal(body.checks['postgres:responseTime'][0].status, 'fail', 'the database check failed')
  assertFailureSafe(t, body)
}

function assertFailureSafe (t: Test, body: { output?: string }) {
  t.type(body.output, 'string', 'names the kind of failure')
  t.notMatch(body.output, /127\.0\.0\.1|postgres|password/, 'without host, user or password')
  t.notMatch(JSON.stringify(body), password)
}

t.test('live answers pass without touching the database, on GET and HEAD, never cached', async (t) => {
  const { app, proxy } = await appBehindProxy(t)
  proxy.blackhole()
  const totalBefore = app.pg.pool.totalCount
  const response = await app.inject({ method: 'GET', url: '/api/health/live' })
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^application\/health\+json/)
  t.equal(response.headers['cache-control'], 'no-store')
  t.same(response.json(), { status: 'pass', version: packageVersion })
  t.equal(app.pg.pool.totalCount, totalBefore, 'no connection was opened')

  const head = await app.inject({ method: 'HEAD', url: '/api/health/live' })
  t.equal(head.statusCode, 200)
  t.equal(head.body, '')
  t.equal(head.headers['cache-control'], 'no-store')
  proxy.forward()
})

t.test('ready passes in the health+json format with the probe time and pool figures', async (t) => {
  const { app } = await appBehindProxy(t)
  const response = await app.inject({ method: 'GET', url: '/api/health/ready' })
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^application\/health\+json/)
  t.equal(response.headers['cache-control'], 'no-store')
  const body = response.json()
  t.equal(body.status, 'pass')
  t.equal(body.version, packageVersion)
  t.notOk('output' in body)
  const [probe] = body.checks['postgres:responseTime']
  t.match(probe, { componentType: 'datastore', observedUnit: 'ms', status: 'pass' })
  t.ok(probe.observedValue >= 0 && probe.observedValue < HANG_MS, 'observedValue is the query time in ms, within the health timeout')
  t.ok(Date.parse(probe.time) > 0, 'time is a timestamp')
  const [connections] = body.checks['postgres:connections']
  t.match(connections, { componentType: 'datastore', observedUnit: 'connections', status: 'pass', waiting: 0, max: 15 })
  t.ok(connections.total >= 1 && connections.idle <= connections.total)

  for (const url of ['/api/health', '/api/health/ready']) {
    const head = await app.inject({ method: 'HEAD', url })
    t.equal(head.statusCode, 200, `HEAD ${url}`)
    t.equal(head.headers['cache-control'], 'no-store')
  }
})

t.test('refused connections: ready 200 with a warning, health disconnected, then recovery', async (t) => {
  const { app, proxy } = await appBehindProxy(t)
  proxy.refuse()
  const ready = await app.inject({ method: 'GET', url: '/api/health/ready' })
  assertDatabaseWarning(t, ready)
  t.notMatch(ready.json().output, /no answer within|timed out/, 'told by the refused connection, not by a timeout')
  t.same((await app.inject({ method: 'GET', url: '/api/health' })).json(), { status: 'healthy', database: 'disconnected' })

  proxy.forward()
  await readyAgain(t, app)
})

t.test('black hole (TCP accepted, never answered): every answer still arrives in time', async (t) => {
  const { app, proxy } = await appBehindProxy(t, { HEALTH_TIMEOUT_MS: String(HEALTH_TIMEOUT_MS) })
  proxy.blackhole()
  // Pooled connections are frozen and new ones hang in the handshake.
  for (const url of ['/api/health/ready', '/api/health']) {
    const { response, elapsedMs } = await timed(app, url)
    // Twenty health timeouts: only a hang reaches it, while the pool's query timeout (30 s) is past it.
    t.ok(elapsedMs < 20 * HEALTH_TIMEOUT_MS, `${url} answered in ${Math.round(elapsedMs)} ms`)
    if (url === '/api/health') {
      t.same(response.json(), { status: 'healthy', database: 'disconnected' })
    } else {
      assertDatabaseWarning(t, response)
      const body = response.json()
      // pg's own per-query timeout on the check may fire first: it is the same HEALTH_TIMEOUT_MS.
      t.match(body.output, new RegExp(`^(no answer within ${HEALTH_TIMEOUT_MS} ms|query timed out)$`), 'ended by the health timeout')
      const [probe] = body.checks['postgres:responseTime']
      t.ok(probe.observedValue >= HEALTH_TIMEOUT_MS - 1 && probe.observedValue <= elapsedMs, `reports the ${probe.observedValue} ms it waited`)
    }
  }
  proxy.forward()
  await readyAgain(t, app)
})

t.test('pool exhausted by other work: busy is not down; callers waiting for a connection make readiness a warning', async (t) => {
  // The waiting caller must still wait when readiness reports it: a pool wait only a hang outlasts.
  const { app } = await appBehindProxy(t, { DATABASE_POOL_MAX: '2', DATABASE_CONNECT_TIMEOUT_MS: String(HANG_MS) })
  const held = [await app.pg.connect(), await app.pg.connect()]
  const ready = await app.inject({ method: 'GET', url: '/api/health/ready' })
  t.equal(ready.statusCode, 200, 'the database answers on a connection of the check\'s own')
  t.equal(ready.json().status, 'pass')
  t.same((await app.inject({ method: 'GET', url: '/api/health' })).json().database, 'connected')

  const waiting = app.pg.query('SELECT 1')
  const warned = await app.inject({ method: 'GET', url: '/api/health/ready' })
  t.equal(warned.statusCode, 200)
  t.equal(warned.json().status, 'warn', 'a caller waits for a pooled connection')
  t.equal(warned.json().checks['postgres:connections'][0].waiting, 1)
  t.equal(app.databaseAvailability.available, true, 'requests are not refused as if the database were down')

  for (const client of held) client.release()
  await waiting
  t.equal((await app.inject({ method: 'GET', url: '/api/health/ready' })).json().status, 'pass', 'pass again once freed')
})

t.test('500 concurrent probes share queries, and real traffic gets a connection during the storm', async (t) => {
  const { app } = await appBehindProxy(t, { DATABASE_POOL_MAX: '2' })
  let queries = 0
  app.pg.pool.on('acquire', () => { queries++ })

  const probes = Array.from({ length: 500 }, (_, i) => app.inject({ method: 'GET', url: i % 2 === 0 ? '/api/health/ready' : '/api/health' }))
  const realTraffic = app.pg.query('SELECT 42 AS answer')
  const responses = await Promise.all(probes)

  t.same(new Set(responses.map((response) => response.statusCode)), new Set([200]))
  t.equal((await realTraffic).rows[0].answer, 42, 'real traffic got a connection during the storm')
  t.ok(queries <= 10, `${queries} pooled queries, the real traffic's included, for 500 probes: they share the one in flight`)
})

t.test('probes alone never use more than one pooled connection at a time', async (t) => {
  const { app } = await appBehindProxy(t)
  let inUse = 0
  let mostInUse = 0
  app.pg.pool.on('acquire', () => { mostInUse = Math.max(mostInUse, ++inUse) })
  app.pg.pool.on('release', () => { inUse-- })
  const answers = await Promise.all(Array.from({ length: 500 }, () => app.inject({ method: 'GET', url: '/api/health/ready' })))
  t.ok(answers.every((answer) => answer.statusCode === 200), 'every probe answered')
  // None when the probes all join a check already in flight before the count began.
  t.ok(mostInUse <= 1, `at most one pooled connection at a time (${mostInUse})`)
})

t.test('database stopped while serving: a warning in time, no crash; restarted: ready again without a restart', async (t) => {
  const app = await buildApp(t, testEnv(database, { HEALTH_TIMEOUT_MS: String(HANG_MS), DATABASE_CONNECT_TIMEOUT_MS: '1000' }))
  t.equal((await app.inject({ method: 'GET', url: '/api/health/ready' })).statusCode, 200)

  await database.stop()
  const ready = await app.inject({ method: 'GET', url: '/api/health/ready' })
  assertDatabaseWarning(t, ready)
  t.notMatch(ready.json().output, /no answer within|timed out/, 'told by the failed connection, not by a timeout')
  t.same((await app.inject({ method: 'GET', url: '/api/health' })).json(), { status: 'healthy', database: 'disconnected' })

  await database.start()
  await readyAgain(t, app)
  const { rows } = await app.pg.query('SELECT 1 AS one')
  t.equal(rows[0].one, 1, 'queries work again on fresh connections')
})

t.test('shutdown begun: live and ready answer 503 with Retry-After, /api/health keeps its contract', async (t) => {
  const { app } = await appBehindProxy(t)
  app.shutdown.begin()
  for (const url of ['/api/health/live', '/api/health/ready']) {
    const response = await app.inject({ method: 'GET', url })
    t.equal(response.statusCode, 503, url)
    t.ok(Number(response.headers['retry-after']) > 0)
    t.match(response.json(), { status: 'fail', output: 'shutting down' })
  }
  t.same((await app.inject({ method: 'GET', url: '/api/health' })).json(), { status: 'healthy', database: 'connected' })
})

/** How long a busy spell holds the event loop: longer than the second between load shedding's samples. */
const BUSY_MS = 1500

/** Load shedding's reading of the event loop, as its last sample left it. */
function readingOf (app: FastifyInstance) {
  const { eventLoopDelay, eventLoopUtilized } = app.memoryUsage()
  return { eventLoopDelay, eventLoopUtilized }
}

/** Polls until load shedding's reading is other than `from`: the new reading, and when `from` was last seen. */
async function readingOtherThan (app: FastifyInstance, from: ReturnType<typeof readingOf>) {
  // A sample is taken every second: only a hang reaches this.
  const deadline = performance.now() + HANG_MS
  let lastSeen = -Infinity
  for (;;) {
    const reading = readingOf(app)
    if (!isDeepStrictEqual(reading, from)) return { reading, lastSeen }
    lastSeen = performance.now()
    if (lastSeen > deadline) throw new Error(`load shedding took no sample of the event loop in ${HANG_MS} ms`)
    await sleep(5)
  }
}

/**
 * Holds the event loop for BUSY_MS right after a sample, so the next sample covers the spell, and
 * once that sample is taken sends `/`, the probes and /api/health together: that reading and the
 * four answers. A round in which this process was held up so long that it proves nothing (the
 * spell began well after the sample, or the answers may have met the sample after) is done again.
 */
async function busySpell (app: FastifyInstance) {
  for (let round = 0; round < 10; round++) {
    const { reading: before, lastSeen } = await readingOtherThan(app, readingOf(app))
    const start = performance.now()
    while (performance.now() - start < BUSY_MS);
    const end = performance.now()
    const { reading } = await readingOtherThan(app, before)
    const [root, ready, live, health] = await Promise.all(['/', '/api/health/ready', '/api/health/live', '/api/health']
      .map((url) => app.inject({ method: 'GET', url })))
    // Telling only when the spell began within 50 ms of its sample (so it fills the next) and the
    // answers came within 900 ms of its end (the sample after comes a second after it).
    if (start - lastSeen < 50 && performance.now() - end < 900) return { reading, root, ready, live, health }
  }
  throw new Error('every busy spell was held up too long to show what load shedding does')
}

t.test('a saturated event loop sheds load with 503 and Retry-After, liveness and /api/health excepted', async (t) => {
  const app = await buildApp(t, testEnv(database, { LOAD_SHEDDING_MAX_EVENT_LOOP_DELAY_MS: '50' }))
  const shed = await busySpell(app)
  t.ok(shed.reading.eventLoopDelay > 50, `the sample after the spell reads the loop lagging (${Math.round(shed.reading.eventLoopDelay)} ms)`)
  t.equal(shed.root.statusCode, 503, 'a request is refused while the loop reads saturated')
  t.ok(Number(shed.root.headers['retry-after']) > 0, 'with Retry-After')
  t.same(problemIssues(shed.root, '/'), [], 'as a problem')
  t.equal(shed.root.json().detail, 'The server is overloaded; retry after the delay in Retry-After')
  t.equal(shed.ready.statusCode, 503, 'readiness is shed: send traffic elsewhere')
  t.equal(shed.ready.headers['cache-control'], 'no-store', 'and the shed readiness answer is not cacheable')
  t.equal(shed.live.statusCode, 200, 'liveness is not shed')
  t.equal(shed.health.statusCode, 200, '/api/health is not shed: always 200')
  t.same(shed.health.json(), { status: 'healthy', database: 'connected' })
})

t.test('event-loop utilisation is measured over the last second, not since start-up', async (t) => {
  const startUp = performance.now()
  const app = await buildApp(t, testEnv(database, { LOAD_SHEDDING_MAX_EVENT_LOOP_DELAY_MS: '0', LOAD_SHEDDING_MAX_EVENT_LOOP_UTILIZATION: '0.9' }))
  const startUpMs = performance.now() - startUp
  const ready = performance.eventLoopUtilization()
  // The scenario is a server that has been up and idle for a while: wait until, averaged since
  // start-up (counted all busy), a busy spell would leave the loop under 0.8, so that only a
  // measure over the last second sheds.
  const averagedWithSpell = () => {
    const { active, idle } = performance.eventLoopUtilization(ready)
    return (startUpMs + active + BUSY_MS) / (startUpMs + active + idle + BUSY_MS)
  }
  // Idle time accrues as the wall clock runs: only a hang reaches this.
  const deadline = performance.now() + HANG_MS
  while (averagedWithSpell() >= 0.8) {
    if (performance.now() > deadline) throw new Error(`the event loop was not idle enough within ${HANG_MS} ms`)
    await sleep(50)
  }
  const shed = await busySpell(app)
  t.ok(shed.reading.eventLoopUtilized > 0.9, `the sample after the spell reads the loop ${shed.reading.eventLoopUtilized.toFixed(2)} utilised`)
  t.equal(shed.root.statusCode, 503, 'a request was refused after a saturated second')
  t.equal(shed.live.statusCode, 200, 'liveness is not shed')
})
