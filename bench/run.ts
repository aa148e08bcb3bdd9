/**
 * `npm run bench`: the built API against a yardstick that sends the same bytes and does the same
 * work with the same code (bench/yardstick-server.ts), on the same PostgreSQL, in rounds in which the servers take turns.
 * Each server runs in its own process and every load run in another (bench/load.js), so the load
 * generator never shares an event loop with what it measures. Prints Markdown tables
 * (docs/performance.md) and writes every figure as JSON into --out.
 */
import { execFileSync, spawn } from 'node:child_process'
import { createReadStream } from 'node:fs'
import { mkdir, mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises'
import http from 'node:http'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { build } from 'esbuild'
import { bundleOptions } from '../scripts/bundle-options.js'
import { startThrowawayDatabase } from '../src/database/embedded.js'
import { API, ROUTES, YARDSTICK, evaluateTargets, markdownTables, median, type LoadResult, type Report, type RunResult, type ServerResult } from './report.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const usage = `Usage: npm run bench [-- options]

  --rounds N        rounds at --connections, the servers taking turns; medians are reported (default 3)
  --duration S      seconds measured per server, route and round (default 8)
  --warmup S        seconds of warm-up before each measurement, 0 for none (default 2)
  --connections N   connections for the rounds the targets are read from (default 50)
  --burst N         connections for the run that checks errors and peak memory (default 1000)
  --startups N      starts per server to time start-up; the median is reported (default 5)
  --settle S        seconds to watch memory after the last load (default 10)
  --out DIR         where the JSON results go (default .artifacts/bench)
  --dist DIR        where the API is built, inside the project (default dist)

Uses DATABASE_URL when set (its schema is migrated first), otherwise a throwaway embedded PostgreSQL.
`

const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '50' },
    burst: { type: 'string', default: '1000' },
    startups: { type: 'string', default: '5' },
    settle: { type: 'string', default: '10' },
    out: { type: 'string', default: path.join(root, '.artifacts', 'bench') },
    dist: { type: 'string', default: path.join(root, 'dist') },
    help: { type: 'boolean', default: false }
  }
})
if (flags.help) {
  process.stdout.write(usage)
  process.exit(0)
}

function count (name: string, value: string, min: number): number {
  const parsed = Number(value)
  if (!Number.isInteger(parsed) || parsed < min) {
    process.stderr.write(`bench: --${name} must be an integer of at least ${min}, not "${value}"\n\n${usage}`)
    process.exit(2)
  }
  return parsed
}

const options = {
  rounds: count('rounds', flags.rounds, 1),
  duration: count('duration', flags.duration, 1),
  warmup: count('warmup', flags.warmup, 0),
  connections: count('connections', flags.connections, 1),
  burst: count('burst', flags.burst, 1),
  startups: count('startups', flags.startups, 1),
  settle: count('settle', flags.settle, 0)
}
// The built code finds package.json, migrations/ and vendor/ by looking upwards from where it is.
const dist = path.resolve(flags.dist)
const clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }))
// Headers that differ between any two answers, or that Node's HTTP server writes itself.
const perAnswerHeaders = new Set(['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding', 'x-request-id'])
// Headers the yardstick works out itself for each answer, as the API does: compared, never handed to it.
const computedHeaders = new Set(['link'])

/** A measured request: its name in the report, its path, and the yardstick's name for the API's headers it sends. */
interface MeasuredRoute {
  name: string
  path: string
  signedIn: boolean
  headersOf: string
}

/** A team of the bench user's with `players` players, and the paths of its roster's first and last pages of 50. */
interface BenchTeam {
  players: number
  firstPage: string
  lastPage: string
}

interface ServerSpec {
  name: string
  label: string
  /** node's arguments: options, then the script. */
  args: string[]
  env: Record<string, string>
}

interface RunningServer {
  spec: ServerSpec
  pid: number
  url: string
  logPath: string
  stop: () => Promise<void>
}

const cleanups: Array<() => Promise<unknown>> = []
async function cleanUp (): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {})
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => { cleanUp().finally(() => process.exit(130)) })
}

try {
  await main()
} catch (error) {
  process.stderr.write(`bench: ${(error as Error).message}\n`)
  process.exitCode = 1
} finally {
  await cleanUp()
}

async function main (): Promise<void> {
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'spinta-bench-'))
  cleanups.push(() => rm(workDir, { recursive: true, force: true }))
  // Servers run from an empty folder, so no developer's .env changes what is measured.
  const serverCwd = path.join(workDir, 'cwd')
  await mkdir(serverCwd)

  log(`building the API into ${path.relative(root, dist)}`)
  await runToEnd(path.join(root, 'node_modules', '.bin', 'tsx'), [path.join(root, 'scripts', 'build.ts'), '--outdir', dist])

  const loadAtStart = os.loadavg()
  let databaseUrl = process.env.DATABASE_URL
  const external = databaseUrl !== undefined
  if (databaseUrl === undefined) {
    log('starting a throwaway embedded PostgreSQL')
    const database = await startThrowawayDatabase()
    cleanups.push(() => database.destroy())
    databaseUrl = database.url
  }
  // The production server refuses a schema behind its release.
  log('migrating the database schema')
  await runToEnd(process.execPath, [path.join(dist, 'scripts', 'migrate.js')], { DATABASE_URL: databaseUrl }, serverCwd)

  const secretKey = 'bench-secret-key-0123456789abcdef0123456789'
  const apiSpec: ServerSpec = {
    name: API,
    label: 'API, production defaults',
    args: await startScriptArgs(),
    // Metrics on, as by default, on a loopback address of its own (a free port on it at each start).
    // Nothing listens at the SMTP_URL production requires: the bench user's verification mail is
    // only retried in the background.
    env: { NODE_ENV: 'production', HOST: '127.0.0.1', DATABASE_URL: databaseUrl, SECRET_KEY: secretKey, METRICS_HOST: '127.0.0.2', SMTP_URL: 'smtp://127.0.0.1:9' }
  }

  // A signed-in coach of two teams, and the API's headers for the yardstick to send.
  const preparation = await startServer(apiSpec, serverCwd, path.join(workDir, 'preparation.log'))
  let benchUser = await signIn(preparation.server.url)
  log('adding two teams of 30 and 1,000 players')
  const [small, large] = [await benchTeam(preparation.server.url, benchUser.authorization, 30), await benchTeam(preparation.server.url, benchUser.authorization, 1000)]
  const routes: MeasuredRoute[] = [
    { name: ROUTES.root, path: '/', signedIn: false, headersOf: '/' },
    { name: ROUTES.health, path: '/api/health', signedIn: false, headersOf: '/api/health' },
    { name: ROUTES.me, path: '/api/users/me', signedIn: true, headersOf: '/api/users/me' },
    { name: ROUTES.roster, path: small.firstPage, signedIn: true, headersOf: 'roster' },
    { name: ROUTES.rosterFirst, path: large.firstPage, signedIn: true, headersOf: 'roster' },
    { name: ROUTES.rosterLast, path: large.lastPage, signedIn: true, headersOf: 'roster' }
  ]
  const headers: Record<string, Record<string, string>> = {}
  for (const route of routes) headers[route.headersOf] ??= await staticHeaders(preparation.server.url + route.path, benchUser.authorization)
  await preparation.server.stop()

  log('bundling the yardstick')
  const yardstick = await bundleYardstick()

  const collector = await startSpanSink()
  cleanups.push(() => collector.close())
  // The yardstick runs under node's options from the start script too, so both have the same heap.
  const nodeOptions = apiSpec.args.filter((arg) => arg.startsWith('-'))
  const specs: ServerSpec[] = [
    { name: YARDSTICK, label: 'yardstick: node:http, same bytes and work', args: [...nodeOptions, yardstick], env: { DATABASE_URL: databaseUrl, SECRET_KEY: secretKey, BENCH_HEADERS: JSON.stringify(headers) } },
    apiSpec,
    // What tracing costs: every span exported, at the SDK's default batching.
    { name: 'api-traced', label: 'API, tracing on (OTLP/HTTP)', args: apiSpec.args, env: { ...apiSpec.env, METRICS_HOST: '127.0.0.3', OTEL_EXPORTER_OTLP_ENDPOINT: collector.url } }
  ]

  // Start-up is timed one server at a time, so no start competes with another for the CPU, and the
  // servers take turns, so a change in the machine's speed lands on all of them. Each server's last
  // start stays running for the load runs.
  const starts = new Map(specs.map((spec) => [spec.name, { startMs: [] as number[], idleRssMb: [] as number[] }]))
  const running = new Map<string, RunningServer>()
  for (let attempt = 1; attempt <= options.startups; attempt++) {
    for (const spec of specs) {
      const { startMs, idleRssMb } = starts.get(spec.name)!
      const { server, firstAnswerMs } = await startServer(spec, serverCwd, path.join(workDir, `${spec.name}-${attempt}.log`))
      startMs.push(firstAnswerMs)
      await sleep(1000)
      idleRssMb.push((await readMemory(server.pid)).rssMb)
      if (attempt < options.startups) await server.stop()
      else running.set(spec.name, server)
    }
  }
  const results = new Map<string, ServerResult>()
  for (const spec of specs) {
    const { startMs, idleRssMb } = starts.get(spec.name)!
    log(`${spec.name}: first answer after ${startMs.map(Math.round).join(', ')} ms; idle RSS ${idleRssMb.join(', ')} MB`)
    results.set(spec.name, {
      name: spec.name,
      label: spec.label,
      startToFirstAnswerMs: round1(median(startMs)),
      startToFirstAnswerRunsMs: startMs.map(round1),
      idleRssMb: round1(median(idleRssMb)),
      peakRssMb: 0,
      rssAfterLoadMb: 0,
      rssSettledMb: 0,
      rssSettleSamplesMb: [],
      logLines: 0,
      logBytes: 0
    })
  }

  // A yardstick is only worth comparing with when it sends what the API sends.
  for (const route of routes) {
    const expected = await answerOf(running.get(API)!.url + route.path, benchUser.authorization)
    for (const spec of specs) {
      const answer = await answerOf(running.get(spec.name)!.url + route.path, benchUser.authorization)
      if (answer !== expected) throw new Error(`${spec.name} answers ${route.name} with\n${answer}\nthe API with\n${expected}`)
    }
  }

  const measure = async (server: RunningServer, route: MeasuredRoute, connections: number, round: number, watchPeak: boolean): Promise<RunResult> => {
    log(`round ${round}: ${server.spec.name} ${route.name} at ${connections} connections`)
    const auth = route.signedIn ? benchUser.authorization : undefined
    const watch = watchPeak ? watchMemory(server.pid) : undefined
    if (options.warmup > 0) await load(server.url + route.path, connections, options.warmup, auth)
    const cpuBefore = await readCpuSeconds(server.pid)
    const result = await load(server.url + route.path, connections, options.duration, auth)
    const cpuSeconds = await readCpuSeconds(server.pid) - cpuBefore
    const watched = await watch?.stop()
    const memory = await readMemory(server.pid)
    const summary = results.get(server.spec.name)!
    if (watched !== undefined) {
      summary.peakRssMb = Math.max(summary.peakRssMb, memory.hwmMb)
      summary.sampledPeakRssMb = Math.max(summary.sampledPeakRssMb ?? 0, watched)
    }
    summary.rssAfterLoadMb = memory.rssMb
    return {
      server: server.spec.name,
      connections,
      route: route.name,
      round,
      ...result,
      cpuMicrosPerRequest: Math.round(cpuSeconds * 1e6 / Math.max(1, result.requests + result.non2xx))
    }
  }

  // In each round the servers take turns on each route, starting with a different server each
  // round, so a disturbance of the machine lands on all of them rather than on one.
  const runs: RunResult[] = []
  for (let round = 1; round <= options.rounds; round++) {
    // Every round, and the burst, with a token that outlives it.
    benchUser = await renew(running.get(API)!.url, benchUser)
    for (const route of routes) {
      for (let turn = 0; turn < specs.length; turn++) {
        const spec = specs[(round - 1 + turn) % specs.length]!
        runs.push(await measure(running.get(spec.name)!, route, options.connections, round, false))
      }
    }
  }
  const burst: RunResult[] = []
  benchUser = await renew(running.get(API)!.url, benchUser)
  for (const route of routes) {
    for (const spec of specs) burst.push(await measure(running.get(spec.name)!, route, options.burst, 1, true))
  }

  // Memory once the load has stopped, sampled every second: it should stop growing.
  for (let second = 0; second <= options.settle; second++) {
    if (second > 0) await sleep(1000)
    for (const spec of specs) {
      const summary = results.get(spec.name)!
      summary.rssSettleSamplesMb.push((await readMemory(running.get(spec.name)!.pid)).rssMb)
      summary.rssSettledMb = summary.rssSettleSamplesMb.at(-1)!
    }
  }
  for (const spec of specs) await running.get(spec.name)!.stop()
  for (const spec of specs) {
    const lines = await countLogLines(running.get(spec.name)!.logPath)
    Object.assign(results.get(spec.name)!, lines)
  }

  log(`the span sink received ${collector.exports()} exports from the traced API`)
  const machine = {
    cpus: os.availableParallelism(),
    cpuModel: await cpuModel(),
    memoryGb: round1(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
    loadAverageAtStart: loadAtStart.map(round1),
    loadAverageAtEnd: os.loadavg().map(round1)
  }
  const servers = [...results.values()]
  const partial: Omit<Report, 'targets'> = {
    date: new Date().toISOString(),
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim().replace(/ --$/, ''),
    database: external ? 'DATABASE_URL' : 'embedded PostgreSQL (throwaway)',
    options,
    machine,
    servers,
    runs,
    burst
  }
  const report: Report = { ...partial, targets: evaluateTargets(partial) }

  await mkdir(flags.out, { recursive: true })
  const outFile = path.join(flags.out, `bench-${report.date.replace(/[:.]/g, '-')}.json`)
  await writeFile(outFile, JSON.stringify(report, null, 2) + '\n')
  process.stdout.write('\n' + markdownTables(report) + `\nJSON: ${path.relative(process.cwd(), outFile)}\n`)
}

/** An OTLP/HTTP endpoint that takes every export and keeps nothing but their count. */
async function startSpanSink (): Promise<{ url: string, exports: () => number, close: () => Promise<void> }> {
  let exports = 0
  const server = http.createServer((request, response) => {
    request.resume().once('end', () => {
      exports++
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}`,
    exports: () => exports,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()) })
  }
}

/**
 * Bundles the yardstick as the build bundles the API, inside the project (under .artifacts/), where
 * the product code it shares finds package.json and migrations/ above it as the built API does.
 */
async function bundleYardstick (): Promise<string> {
  const outdir = path.join(root, '.artifacts', 'bench', 'yardstick')
  await rm(outdir, { recursive: true, force: true })
  await build({ ...bundleOptions, entryPoints: [path.join(root, 'bench', 'yardstick-server.ts')], outdir })
  return path.join(outdir, 'yardstick-server.js')
}

/** A team of the signed-in user's with `players` players, through the API as a client adds them. */
async function benchTeam (url: string, authorization: string, players: number): Promise<BenchTeam> {
  const headers = { authorization, 'content-type': 'application/json' }
  const created = await fetch(url + '/api/teams', { method: 'POST', headers, body: JSON.stringify({ name: `Bench ${players}` }) })
  if (created.status !== 201) throw new Error(`creating a team answered ${created.status}: ${await created.text()}`)
  const { id } = await created.json() as { id: string }
  const positions = ['goalkeeper', 'defender', 'midfielder', 'forward']
  for (let next = 0; next < players;) {
    const batch = Array.from({ length: Math.min(20, players - next) }, (_, index) => next + index)
    next += batch.length
    await Promise.all(batch.map(async (number) => {
      const player = { display_name: `Player ${String(number).padStart(4, '0')}`, birth_year: 2012 + number % 6, position: positions[number % 4], ...(number < 99 ? { shirt_number: number + 1 } : {}) }
      const added = await fetch(`${url}/api/teams/${id}/players`, { method: 'POST', headers, body: JSON.stringify(player) })
      if (added.status !== 201) throw new Error(`adding a player answered ${added.status}: ${await added.text()}`)
    }))
  }
  // The last page is the one whose request carries the cursor the page before it gave.
  const firstPage = `/api/teams/${id}/players?limit=50`
  let lastPage = firstPage
  for (let cursor: string | null = null; ;) {
    const page = cursor === null ? firstPage : `${firstPage}&cursor=${cursor}`
    const answer = await fetch(url + page, { headers: { authorization } })
    if (answer.status !== 200) throw new Error(`reading the roster answered ${answer.status}: ${await answer.text()}`)
    const { next_cursor: nextCursor } = await answer.json() as { next_cursor: string | null }
    lastPage = page
    if (nextCursor === null) break
    cursor = nextCursor
  }
  return { players, firstPage, lastPage }
}

/** The bench user's sign-in: the Authorization header for signed-in routes, and the refresh token that renews it. */
interface BenchSignIn {
  authorization: string
  refreshToken: string
}

/** The Authorization header and refresh token of a token endpoint's answer. */
async function signInOf (answer: Response, what: string): Promise<BenchSignIn> {
  if (answer.status !== 200) throw new Error(`${what} answered ${answer.status}: ${await answer.text()}`)
  const { access_token: accessToken, refresh_token: refreshToken } = await answer.json() as { access_token: string, refresh_token: string }
  return { authorization: `Bearer ${accessToken}`, refreshToken }
}

/** Registers a user and signs in. */
async function signIn (url: string): Promise<BenchSignIn> {
  const credentials = { email: 'bench@example.com', password: 'a long and unlisted passphrase 42', full_name: 'Bench User' }
  const registered = await fetch(url + '/api/auth/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(credentials) })
  if (registered.status !== 202) throw new Error(`registering the bench user answered ${registered.status}: ${await registered.text()}`)
  const form = new URLSearchParams({ grant_type: 'password', username: credentials.email, password: credentials.password })
  return signInOf(await fetch(url + '/api/auth/token', { method: 'POST', body: form }), 'signing in')
}

/**
 * A fresh access token for the same sign-in (the refresh_token grant): one lasts
 * ACCESS_TOKEN_EXPIRE_MINUTES, and a run with many rounds outlasts it.
 */
async function renew (url: string, { refreshToken }: BenchSignIn): Promise<BenchSignIn> {
  const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken })
  return signInOf(await fetch(url + '/api/auth/token', { method: 'POST', body: form }), 'renewing the access token')
}

interface Answer { status: number, headers: Array<[string, string]>, body: string }

/** One GET on a fresh connection; its headers as sent, in order, but those that differ per answer. */
function get (url: string, authorization: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    http.get(url, { agent: false, headers: { authorization } }, (response) => {
      let body = ''
      response.setEncoding('utf8').on('data', (chunk: string) => { body += chunk })
      response.once('end', () => {
        const raw = response.rawHeaders
        const headers: Array<[string, string]> = []
        for (let index = 0; index < raw.length; index += 2) {
          const name = raw[index]!.toLowerCase()
          if (!perAnswerHeaders.has(name)) headers.push([name, raw[index + 1]!])
        }
        resolve({ status: response.statusCode ?? 0, headers, body })
      })
    }).once('error', reject)
  })
}

/** The headers every answer of a route carries alike, in the order the API sends them. */
async function staticHeaders (url: string, authorization: string): Promise<Record<string, string>> {
  return Object.fromEntries((await get(url, authorization)).headers.filter(([name]) => !computedHeaders.has(name)))
}

/** Status, headers and body, to compare two servers' answers. */
async function answerOf (url: string, authorization: string): Promise<string> {
  const { status, headers, body } = await get(url, authorization)
  return [String(status), ...headers.map(([name, value]) => `${name}: ${value}`).sort(), body].join('\n')
}

/** The API runs as `npm start` runs it: node's options and script from package.json's start script, the script from --dist. */
async function startScriptArgs (): Promise<string[]> {
  const { scripts } = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { scripts: { start: string } }
  const [exec, command, ...args] = scripts.start.trim().split(/\s+/)
  if (exec !== 'exec' || command !== 'node') throw new Error(`bench: expected the start script to be "exec node ...", not "${scripts.start}"`)
  return args.map((arg) => arg.startsWith('-') ? arg : path.join(dist, path.relative('dist', arg)))
}

/** Starts one server with stdout and stderr into a file, and times it from spawn to the first 200 on GET /. */
async function startServer (spec: ServerSpec, cwd: string, logPath: string): Promise<{ server: RunningServer, firstAnswerMs: number }> {
  const logFile = await open(logPath, 'w')
  const started = performance.now()
  const child = spawn(process.execPath, spec.args, {
    cwd,
    env: { PATH: process.env.PATH, ...spec.env, PORT: '0', ...(spec.env.METRICS_HOST === undefined ? {} : { METRICS_PORT: String(await freePort(spec.env.METRICS_HOST)) }) },
    stdio: ['ignore', logFile.fd, logFile.fd]
  })
  await logFile.close()
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  let hasExited = false
  exited.then(() => { hasExited = true })

  const stop = async () => {
    if (hasExited) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
    await exited
    clearTimeout(timer)
  }
  cleanups.push(stop)

  // Each server listens on a port of the system's choosing, and says which.
  const exitedEarly = async () => {
    const output = await readFile(logPath, 'utf8')
    return new Error(`${spec.name} exited before answering:\n${output.slice(-2000)}`)
  }
  let url: string | undefined
  while (url === undefined) {
    if (hasExited) throw await exitedEarly()
    url = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(await readFile(logPath, 'utf8'))?.[1]
    if (url === undefined) await sleep(2)
  }
  while (await statusOf(url + '/') !== 200) {
    if (hasExited) throw await exitedEarly()
    await sleep(2)
  }
  const firstAnswerMs = performance.now() - started
  return { server: { spec, pid: child.pid!, url, logPath, stop }, firstAnswerMs }
}

/**
 * A port nothing listens on at `host` now, for a listener the server cannot be told to put on
 * port 0 (METRICS_PORT=0 turns metrics off): another copy of the bench running at the same time
 * gets another.
 */
function freePort (host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer()
    probe.once('error', reject)
    probe.listen(0, host, () => {
      const { port } = probe.address() as net.AddressInfo
      probe.close(() => resolve(port))
    })
  })
}

/** The status of one GET on a fresh connection, or 0 when nothing answers yet. */
function statusOf (url: string): Promise<number> {
  return new Promise((resolve) => {
    http.get(url, { agent: false }, (response) => {
      response.resume()
      response.once('end', () => resolve(response.statusCode ?? 0))
    }).once('error', () => resolve(0))
  })
}

/** One load run (bench/load.js) in a process of its own, as the servers are in theirs. */
async function load (url: string, connections: number, seconds: number, authorization?: string): Promise<LoadResult> {
  const args = [path.join(root, 'bench', 'load.js'), url, String(connections), String(seconds)]
  if (authorization !== undefined) args.push(authorization)
  return JSON.parse(await runToEnd(process.execPath, args)) as LoadResult
}

/** Runs a command to completion and returns its stdout; a non-zero exit throws with its stderr. */
function runToEnd (command: string, args: string[], env: Record<string, string> = {}, cwd = root): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
    child.once('error', reject)
    child.once('exit', (code) => {
      if (code === 0) resolve(stdout)
      else reject(new Error(`${path.basename(args[0] ?? command)} exited with ${code}: ${stderr.trim() || stdout.trim()}`))
    })
  })
}

/** CPU time a process has used, user and system, in seconds (/proc/<pid>/stat fields 14 and 15). */
async function readCpuSeconds (pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / clockTicks
}

/** VmRSS (resident now) and VmHWM (the most ever resident) of a process, in MB. */
async function readMemory (pid: number): Promise<{ rssMb: number, hwmMb: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN)
  return { rssMb: round1(kb('VmRSS') / 1024), hwmMb: round1(kb('VmHWM') / 1024) }
}

/** Samples a process's RSS every 100 ms until stopped; resolves with the largest sample (MB). */
function watchMemory (pid: number): { stop: () => Promise<number> } {
  let peak = 0
  const timer = setInterval(() => {
    readMemory(pid).then(({ rssMb }) => { peak = Math.max(peak, rssMb) }, () => {})
  }, 100)
  return {
    async stop () {
      clearInterval(timer)
      return peak
    }
  }
}

/** Lines and bytes a server wrote to its log, to show whether each request was logged. */
async function countLogLines (logPath: string): Promise<{ logLines: number, logBytes: number }> {
  let logLines = 0
  for await (const chunk of createReadStream(logPath) as AsyncIterable<Buffer>) {
    for (let index = chunk.indexOf(10); index !== -1; index = chunk.indexOf(10, index + 1)) logLines++
  }
  return { logLines, logBytes: (await stat(logPath)).size }
}

async function cpuModel (): Promise<string> {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '')
  return /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown'
}

function round1 (value: number): number {
  return Math.round(value * 10) / 10
}

function log (message: string): void {
  process.stderr.write(`bench: ${message}\n`)
}
