import t from 'tap'
import { buildApp, startTestDatabase, testEnv } from '../helper.js'
import { newAccount, signedIn, signIn } from '../accounts.js'
import { spawnServer } from '../spawn-server.js'
import { startTcpProxy } from '../tcp-proxy.js'

const database = await startTestDatabase(t)
const secretKey = 'a-metrics-test-signing-key-0123456789abcdef'
const password = decodeURIComponent(new URL(database.url).password)

/** Samples of Prometheus' text exposition format: `name{label="value",...} number` per line. */
function parseExposition (text: string): Array<{ name: string, labels: Record<string, string>, value: number }> {
  return text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).map((line) => {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (match === null) throw new Error(`not in the exposition format: ${line}`)
    const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, name, value]) => [name, value]))
    return { name: match[1], labels, value: Number(match[3]) }
  })
}

function valueOf (samples: ReturnType<typeof parseExposition>, name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value))?.value
}

t.test('the metrics listener serves requests, refusals, the pool and the probes; the public port does not', async (t) => {
  const proxy = await startTcpProxy(database.socketPath)
  t.teardown(() => proxy.close())
  const app = await buildApp(t, testEnv({ url: proxy.url(database.url) }, { SECRET_KEY: secretKey }))
  const listener = await app.metrics.listen('127.0.0.1', 0)
  const scrapeUrl = `http://127.0.0.1:${listener.address().port}/metrics`

  await app.inject({ method: 'GET', url: '/' })
  await app.inject({ method: 'GET', url: '/no/such/path-1' })
  await app.inject({ method: 'GET', url: '/no/such/path-2?x=1' })
  await app.inject({ method: 'GET', url: '/api/health/ready' })
  const session = await signedIn(app, newAccount('metrics'))
  t.equal((await signIn(app, session.email, 'wrong-password')).statusCode, 400)
  const token = session.access_token
  proxy.refuse()
  t.equal((await app.inject({ method: 'GET', url: '/api/users/me', headers: { authorization: `Bearer ${token}` } })).statusCode, 503)

  const response = await fetch(scrapeUrl)
  t.equal(response.status, 200)
  t.match(response.headers.get('content-type'), /^text\/plain; version=0\.0\.4/)
  const text = await response.text()
  const samples = parseExposition(text)

  for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
    t.ok(valueOf(samples, name) !== undefined, `prom-client's default metric ${name}`)
  }
  t.equal(valueOf(samples, 'http_request_duration_seconds_count', { method: 'GET', route: '/', status_code: '200' }), 1)
  t.equal(valueOf(samples, 'http_request_duration_seconds_count', { method: 'GET', route: 'unmatched', status_code: '404' }), 2, 'unknown URLs share one series')
  t.notMatch(text, /no\/such/, 'no URL a client sent becomes a label')
  t.equal(valueOf(samples, 'http_request_duration_seconds_count', { method: 'POST', route: '/api/auth/register', status_code: '202' }), 1)
  t.equal(valueOf(samples, 'auth_refusals_total', { route: '/api/auth/token', status_code: '400' }), 1)
  t.equal(valueOf(samples, 'http_refusals_total', { reason: 'database_unavailable' }), 1)
  t.equal(valueOf(samples, 'readiness_probe_total', { outcome: 'pass' }), 1)
  t.equal(valueOf(samples, 'database_probe_duration_seconds_count', { ok: 'true' }), 1)
  t.equal(valueOf(samples, 'db_pool_max_connections'), 15)
  for (const state of ['total', 'idle', 'waiting']) t.ok(valueOf(samples, 'db_pool_connections', { state }) !== undefined, `pool ${state}`)
  for (const secret of [password, secretKey, token, session.password]) t.notOk(text.includes(secret), 'no secret in any label or value')

  t.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 404, 'the public port has no /metrics')
  t.equal((await fetch(scrapeUrl.replace('/metrics', '/'))).status, 404, 'the metrics listener serves only /metrics')
})

t.test('npm start serves metrics on METRICS_HOST:METRICS_PORT, apart from the public port', async (t) => {
  // A port of the server's own: one taken by chance makes the server exit, and another is tried.
  for (let attempt = 1; ; attempt++) {
    const metricsPort = 20_000 + Math.floor(Math.random() * 40_000)
    const server = await spawnServer(t, { DATABASE_URL: database.url, SECRET_KEY: secretKey, METRICS_HOST: '127.0.0.1', METRICS_PORT: String(metricsPort) })
    const base = await server.listening.catch(() => undefined)
    if (base === undefined && attempt < 3 && /METRICS_PORT/.test(server.stderr())) continue
    t.ok(base, 'the server listens')
    const scrape = await fetch(`http://127.0.0.1:${metricsPort}/metrics`)
    t.equal(scrape.status, 200)
    t.match(await scrape.text(), /^# TYPE http_request_duration_seconds histogram$/m)
    t.equal((await fetch(`${base}/metrics`)).status, 404, 'not on the public port')
    server.child.kill('SIGTERM')
    t.equal((await server.exited).code, 0, 'stopped cleanly, the metrics listener closed')
    return
  }
})
