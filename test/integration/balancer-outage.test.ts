import { chmod, mkdtemp, rm } from 'node:fs/promises'
import http from 'node:http'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t, { type Test } from 'tap'
import { NOWHERE_SMTP_URL, startTestDatabase } from '../helper.js'
import { buildRelease, findTool, renderHaproxyConfig, renderNginxConfig, startHaproxy, startNginx, until } from '../deploy-tools.js'
import { spawnServer, type SpawnedServer } from '../spawn-server.js'
import { startTcpProxy } from '../tcp-proxy.js'

const nginx = findTool('nginx')
const haproxy = findTool('haproxy')
const database = await startTestDatabase(t)
const password = decodeURIComponent(new URL(database.url).password)
// The production build, as the balancers' instances run it: it starts quickly enough on a busy machine.
const entry = path.join(await buildRelease(database.url), 'dist', 'src', 'server.js')

interface Answer { status: number, headers: http.IncomingHttpHeaders, body: string }

/** One request through a balancer's Unix socket, on a connection of its own. */
function send (socketPath: string, method: string, url: string, form?: Record<string, string>): Promise<Answer> {
  const body = form === undefined ? undefined : new URLSearchParams(form).toString()
  const headers = body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) }
  return new Promise((resolve, reject) => {
    const request = http.request({ socketPath, method, path: url, agent: false, headers }, (response) => {
      let text = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => { text += chunk })
      response.once('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text }))
      response.once('error', reject)
    })
    request.once('error', reject)
    request.end(body)
  })
}

interface Instance { server: SpawnedServer, address: string, metricsUrl: string }

/** Readiness answers this instance has given, whatever their outcome, from its own metrics. */
async function readinessAnswers ({ metricsUrl }: Instance): Promise<number> {
  const text = await (await fetch(metricsUrl)).text()
  return [...text.matchAll(/^readiness_probe_total\{outcome="\w+"\} (\d+)$/gm)].reduce((sum, [, count]) => sum + Number(count), 0)
}

/** A production instance on free ports: its metrics port is one tried at random, another if taken. */
async function startInstance (t: Test, databaseUrl: string): Promise<Instance> {
  for (let attempt = 1; ; attempt++) {
    const metricsPort = 20_000 + Math.floor(Math.random() * 40_000)
    const server = await spawnServer(t, {
      NODE_ENV: 'production',
      DATABASE_URL: databaseUrl,
      SECRET_KEY: 'balancer-outage-test-secret-key-0123456789',
      SMTP_URL: NOWHERE_SMTP_URL,
      TRUST_PROXY: 'loopback',
      HEALTH_TIMEOUT_MS: '1000',
      METRICS_PORT: String(metricsPort),
      // Load shedding answers 503 when the event loop lags, which a shared test machine can cause.
      LOAD_SHEDDING_MAX_EVENT_LOOP_DELAY_MS: '0'
    }, { nodeArgs: [entry] })
    const url = await server.listening.catch(() => undefined)
    if (url === undefined && attempt < 5 && /METRICS_PORT/.test(server.stderr())) continue
    if (url === undefined) throw new Error(`an instance did not start: ${server.stderr()}`)
    return { server, address: new URL(url).host, metricsUrl: `http://127.0.0.1:${metricsPort}/metrics` }
  }
}

/**
 * Three instances on one database reached through a proxy the test black-holes. Each listens on a
 * free port; the balancer in front of them is the reference configuration with those addresses.
 */
async function instancesBehindBreakableDatabase (t: Test) {
  const proxy = await startTcpProxy(database.socketPath)
  t.teardown(() => proxy.close())
  // One at a time: three start-ups at once on a busy machine can outlast Fastify's plugin timeout.
  const instances: Instance[] = []
  while (instances.length < 3) instances.push(await startInstance(t, proxy.url(database.url)))
  return { proxy, instances, addresses: instances.map((instance) => instance.address) }
}

/** What a client of the balancer gets while the database is black-holed. */
async function assertOutageAnswers (t: Test, socketPath: string) {
  const signIn = await send(socketPath, 'POST', '/api/auth/token', { grant_type: 'password', username: 'nobody@example.com', password: 'a long and unlisted passphrase 42' })
  t.equal(signIn.status, 503, 'a route that needs the database: 503')
  t.match(signIn.headers['content-type'], /^application\/problem\+json/, 'the API\'s own problem+json, not the balancer\'s page')
  t.ok(Number(signIn.headers['retry-after']) > 0, 'with Retry-After')
  t.match(JSON.parse(signIn.body), { status: 503, detail: /database is unavailable/ })
  t.notOk(signIn.body.includes(password), 'no password')

  for (const url of ['/', '/docs', '/redoc', '/openapi.json', '/api/health', '/api/health/live', '/api/health/ready']) {
    t.equal((await send(socketPath, 'GET', url)).status, 200, `${url} stays served`)
  }
  const health = await send(socketPath, 'GET', '/api/health')
  t.same(JSON.parse(health.body), { status: 'healthy', database: 'disconnected' }, '/api/health reports the database')
  const ready = JSON.parse((await send(socketPath, 'GET', '/api/health/ready')).body)
  t.equal(ready.status, 'warn', 'readiness warns of the database')
}

async function tempDir (t: Test): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'spinta-balancer-outage-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  // nginx's workers drop root's privileges and must still reach their temporary directories here.
  await chmod(dir, 0o755)
  return dir
}

t.test('database black-holed behind HAProxy (deploy/haproxy): its readiness checks keep every instance in, clients get the API\'s 503', async (t) => {
  const { proxy, instances, addresses } = await instancesBehindBreakableDatabase(t)
  const dir = await tempDir(t)
  const socketPath = path.join(dir, 'haproxy.sock')
  const balancer = await startHaproxy(t, haproxy, dir, await renderHaproxyConfig({ bind: `unix@${socketPath}`, servers: addresses }))
  await until('HAProxy to answer through its socket', () => send(socketPath, 'GET', '/').then(({ status }) => status === 200, () => false))

  proxy.blackhole()
  // HAProxy takes a server out after `fall` (2) failed checks in a row: once each instance has
  // answered three checks during the outage, a readiness that failed would have emptied the backend.
  const before = await Promise.all(instances.map(readinessAnswers))
  await until('HAProxy to check every instance three times during the outage', async () => {
    const now = await Promise.all(instances.map(readinessAnswers))
    return now.every((count, i) => count - (before[i] as number) >= 3)
  })
  await assertOutageAnswers(t, socketPath)
  t.notMatch(balancer.output(), /is DOWN|no server available/, `HAProxy took no instance out: ${balancer.output()}`)

  proxy.forward()
  await until('sign-in to reach the database again (an unknown account: invalid_grant)', () => send(socketPath, 'POST', '/api/auth/token', { grant_type: 'password', username: 'nobody@example.com', password: 'a long and unlisted passphrase 42' })
    .then(({ status }) => status === 400, () => false))
  t.pass('served again once the database is back')
})

t.test('database black-holed behind nginx (deploy/nginx): clients get the API\'s 503, and / stays 200', async (t) => {
  const { proxy, addresses } = await instancesBehindBreakableDatabase(t)
  const dir = await tempDir(t)
  const socketPath = path.join(dir, 'nginx.sock')
  await startNginx(t, nginx, dir, await renderNginxConfig(dir, { listen: `unix:${socketPath}`, upstreams: addresses }))
  await until('nginx to answer through its socket', () => send(socketPath, 'GET', '/').then(({ status }) => status === 200, () => false))

  proxy.blackhole()
  await assertOutageAnswers(t, socketPath)
  // nginx passes a 503 on as it is: it is not retried elsewhere, since every instance shares the database.
  proxy.forward()
})
