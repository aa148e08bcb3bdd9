import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises'
import http from 'node:http'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { buildApp, NOWHERE_SMTP_URL, startTestDatabase, testEnv, type Env } from '../helper.js'
import { buildRelease, findTool, renderNginxConfig, startNginx, systemdEnvironment, until } from '../deploy-tools.js'
import { spawnServer, type SpawnedServer } from '../spawn-server.js'

const nginx = findTool('nginx')
const database = await startTestDatabase(t)

/** One GET through nginx's Unix socket, on a connection of its own: the status and body, or the error. */
function get (socketPath: string, url: string): Promise<{ status: number, body: string }> {
  return new Promise((resolve, reject) => {
    // agent: false sends "Connection: close": see the load below.
    const request = http.get({ socketPath, path: url, agent: false }, (response) => {
      let body = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => { body += chunk })
      response.once('end', () => resolve({ status: response.statusCode ?? 0, body }))
      response.once('error', reject)
    })
    request.once('error', reject)
  })
}

/**
 * `clients` concurrent clients, each sending GETs one after another until stopped, at most
 * `maxRequests` in all. Each request takes a new connection to nginx: reloading nginx closes idle
 * keep-alive connections, which a browser would retry and this client would count as lost, though
 * only the test's reloads (its instances' ports change) cause them, not the app.
 */
function startLoad (socketPath: string, clients: number, maxRequests: number) {
  const state = { stopping: false }
  let sent = 0
  let completed = 0
  const failures: string[] = []
  const urls = ['/', '/api/health']
  async function client (): Promise<void> {
    while (!state.stopping && sent < maxRequests) {
      const url = urls[sent++ % urls.length] as string
      try {
        const { status, body } = await get(socketPath, url)
        if (status !== 200) failures.push(`${url}: ${status} ${body}`)
      } catch (error) {
        failures.push(`${url}: ${(error as Error).message}`)
      }
      completed++
    }
  }
  const running = Promise.all(Array.from({ length: clients }, client))
  return {
    completed: () => completed,
    /** Waits until `count` more requests have completed, so load runs through what follows. */
    async passes (count: number, what: string) {
      const target = completed + count
      await until(`${count} requests to complete ${what}`, () => completed >= target || sent >= maxRequests)
      if (sent >= maxRequests) throw new Error(`the load reached its bound of ${maxRequests} requests ${what}`)
    },
    async stop () {
      state.stopping = true
      await running
      return { completed, failures }
    }
  }
}

/** The production build, which deploy/systemd runs: its entry point. */
async function buildServer (): Promise<string> {
  return path.join(await buildRelease(database.url), 'dist')
}

/**
 * The systemd unit's environment, plus what /etc/spinta/*.env would hold, except the ports (the
 * test's instances take free ones and need no metrics; test/integration/systemd.test.ts runs the
 * unit's own) and a shorter SHUTDOWN_DELAY_MS: nginx does not poll readiness, so nothing here
 * waits for it.
 */
async function instanceEnv (): Promise<Env> {
  return {
    ...Object.fromEntries(await systemdEnvironment()),
    DATABASE_URL: database.url,
    SECRET_KEY: 'scale-out-test-secret-key-0123456789abcdef',
    SMTP_URL: NOWHERE_SMTP_URL,
    PORT: '0',
    METRICS_PORT: '0',
    SHUTDOWN_DELAY_MS: '500',
    // Load shedding answers 503 when the event loop lags, which a shared test machine can cause
    // whatever the restarts do; this test is about the restarts.
    LOAD_SHEDDING_MAX_EVENT_LOOP_DELAY_MS: '0'
  }
}

async function startInstance (t: Parameters<typeof spawnServer>[0], env: Env, entry: string): Promise<{ server: SpawnedServer, address: string }> {
  const server = await spawnServer(t, env, { nodeArgs: [entry] })
  const url = await server.listening
  // It listens once the database check is done: ready from the first request.
  const ready = await fetch(`${url}/api/health/ready`)
  if (ready.status !== 200) throw new Error(`a new instance is not ready: ${ready.status} ${await ready.text()}`)
  return { server, address: new URL(url).host }
}

const servedRequests = (server: SpawnedServer) => server.stdout().split('\n').filter((line) => line.includes('"request completed"')).length

t.test('a rolling restart of three instances behind nginx (deploy/nginx) under 50 connections of load loses no request', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'spinta-scale-out-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  // nginx's workers drop root's privileges and must still reach their temporary directories here.
  await chmod(dir, 0o755)
  const socketPath = path.join(dir, 'nginx.sock')
  // A Unix socket: a TCP port chosen here and handed to nginx could be taken by another process meanwhile.
  const listen = `unix:${socketPath}`

  const outdir = await buildServer()
  const env = await instanceEnv()
  const entry = path.join(outdir, 'src', 'server.js')
  const instances = await Promise.all([0, 1, 2].map(() => startInstance(t, env, entry)))
  const proxy = await startNginx(t, nginx, dir, await renderNginxConfig(dir, { listen, upstreams: instances.map((i) => i.address) }))
  await until('nginx to answer through its socket', () => get(socketPath, '/').then(({ status }) => status === 200, () => false))

  const load = startLoad(socketPath, 50, 1_000_000)
  // On a failure below, the load stops with the test; stopping twice is harmless.
  t.teardown(() => load.stop())
  const stopped: SpawnedServer[] = []
  await load.passes(200, 'before the first restart')
  for (const slot of [0, 1, 2]) {
    const old = instances[slot] as (typeof instances)[number]
    // The instance stays in nginx's upstream while it shuts down and after it has exited: nginx
    // keeps sending it requests, and passes those it refuses to another instance.
    old.server.child.kill('SIGTERM')
    t.same(await old.server.exited, { code: 0, signal: null }, `instance ${slot + 1} shuts down cleanly under load`)
    stopped.push(old.server)
    await load.passes(200, `while instance ${slot + 1} is down`)

    const replacement = await startInstance(t, env, entry)
    instances[slot] = replacement
    await proxy.reload(await renderNginxConfig(dir, { listen, upstreams: instances.map((i) => i.address) }))
    await load.passes(200, `after instance ${slot + 1} came back`)
  }
  const { completed, failures } = await load.stop()

  t.same(failures, [], `no failed request out of ${completed}`)

  for (const { server } of instances) {
    server.child.kill('SIGTERM')
    t.same(await server.exited, { code: 0, signal: null })
  }
  t.ok([...stopped, ...instances.map((i) => i.server)].every((server) => servedRequests(server) > 0), 'every instance, old and new, served requests')

  // "upstream=A, B": nginx found an instance refusing and passed the request to the next.
  const accessLog = await readFile(path.join(dir, 'access.log'), 'utf8')
  const retried = accessLog.split('\n').filter((line) => /upstream=\S+, /.test(line))
  t.ok(retried.length > 0, `nginx passed requests refused by a stopped instance to another (${retried.length})`)
  t.ok(retried.every((line) => line.startsWith('200 ')), 'and each of them was answered')
})

t.test('a request on a kept-alive connection that reaches an instance as it closes is served and its connection closed, not answered 503', async (t) => {
  let entered!: () => void
  let release!: () => void
  const closing = new Promise<void>((resolve) => { entered = resolve })
  const released = new Promise<void>((resolve) => { release = resolve })
  const app = await buildApp(t, testEnv(database), {
    // Holds the close between Fastify's "closing" mark and the listener's close: the moment a proxy's
    // pooled connection can still carry a request in.
    extend: (fastify) => fastify.addHook('preClose', async () => {
      entered()
      await released
    })
  })
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => agent.destroy())
  const send = () => new Promise<{ status: number, connection: string | undefined, reused: boolean }>((resolve, reject) => {
    const request = http.get(`${url}/`, { agent }, (response) => {
      response.resume()
      response.once('end', () => resolve({ status: response.statusCode ?? 0, connection: response.headers.connection, reused: request.reusedSocket }))
    })
    request.once('error', reject)
  })

  t.match(await send(), { status: 200, connection: 'keep-alive' })
  const closed = app.close()
  await closing
  t.same(await send(), { status: 200, connection: 'close', reused: true })
  release()
  await closed
})

/** One form POST through nginx's Unix socket: the status. */
function postForm (socketPath: string, url: string, form: Record<string, string>): Promise<number> {
  const body = new URLSearchParams(form).toString()
  return new Promise((resolve, reject) => {
    const request = http.request({ socketPath, path: url, method: 'POST', agent: false, headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } }, (response) => {
      response.resume()
      response.once('end', () => resolve(response.statusCode ?? 0))
    })
    request.once('error', reject)
    request.end(body)
  })
}

t.test('three instances behind nginx (deploy/nginx) refuse the sixth wrong sign-in a minute for one account, whichever answers', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'spinta-scale-out-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await chmod(dir, 0o755)
  const socketPath = path.join(dir, 'nginx.sock')
  const outdir = await buildServer()
  const env = await instanceEnv()
  const instances = await Promise.all([0, 1, 2].map(() => startInstance(t, env, path.join(outdir, 'src', 'server.js'))))
  await startNginx(t, nginx, dir, await renderNginxConfig(dir, { listen: `unix:${socketPath}`, upstreams: instances.map((i) => i.address) }))
  await until('nginx to answer through its socket', () => get(socketPath, '/').then(({ status }) => status === 200, () => false))

  const account = { email: 'shared-limit@example.com', password: 'correct horse battery staple', full_name: 'Shared Limit' }
  const registered = await new Promise<number>((resolve, reject) => {
    const request = http.request({ socketPath, path: '/api/auth/register', method: 'POST', agent: false, headers: { 'content-type': 'application/json' } }, (response) => {
      response.resume()
      response.once('end', () => resolve(response.statusCode ?? 0))
    })
    request.once('error', reject)
    request.end(JSON.stringify(account))
  })
  t.equal(registered, 202)

  const statuses: number[] = []
  for (let attempt = 1; attempt <= 6; attempt++) {
    statuses.push(await postForm(socketPath, '/api/auth/token', { grant_type: 'password', username: account.email, password: `wrong password ${attempt}` }))
  }
  t.same(statuses, [400, 400, 400, 400, 400, 429], 'five wrong passwords answered, the sixth refused')

  // The access log is written in batches: every line is out once the instances have exited.
  for (const { server } of instances) {
    server.child.kill('SIGTERM')
    t.same(await server.exited, { code: 0, signal: null })
  }
  const answeredBy = instances.map(({ server }) => server.stdout().split('\n').filter((line) => line.includes('"url":"/api/auth/token"')).length)
  t.ok(answeredBy.filter((count) => count > 0).length >= 2, `the attempts reached several instances (${answeredBy.join(', ')})`)
})
