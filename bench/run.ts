/**
 * `npm run bench`: the built API against a raw node:http baseline (bench/baseline-server.js), in
 * the same run, on the same PostgreSQL, with the least a Fastify app under the API's rules costs
 * (bench/fastify-floor-server.js) alongside, and the same without the security headers (Fastify
 * alone). Each server runs in its own process and autocannon in another (one for the warm-up, one
 * for the measurement), so the load generator never shares an event loop with what it measures. Prints Markdown tables (docs/performance.md) and writes
 * every figure as JSON into --out.
 */
import { execFileSync, spawn } from 'node:child_process'
import { createReadStream } from 'node:fs'
import { mkdir, mkdtemp, open, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { startThrowawayDatabase } from '../src/database/embedded.js'
import { evaluateTargets, markdownTable, type RunResult, type ServerResult } from './report.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const usage = `Usage: npm run bench [-- options]

  --duration S      seconds measured per route and connection count (default 10)
  --warmup S        seconds of warm-up before each measurement, 0 for none (default 3)
  --connections L   comma-separated connection counts (default 10,50,1000)
  --startups N      starts per server to time start-up; the median is reported (default 5)
  --settle S        seconds to watch memory after the last load (default 10)
  --out DIR         where the JSON results go (default .artifacts/bench)
  --dist DIR        where the API is built, inside the project (default dist)

Uses DATABASE_URL when set (its schema is migrated first), otherwise a throwaway embedded PostgreSQL.
`

const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '10,50,1000' },
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
  duration: count('duration', flags.duration, 1),
  warmup: count('warmup', flags.warmup, 0),
  connections: flags.connections.split(',').map((value) => count('connections', value.trim(), 1)),
  startups: count('startups', flags.startups, 1),
  settle: count('settle', flags.settle, 0)
}
// The built code finds package.json, migrations/ and vendor/ by looking upwards from where it is.
const dist = path.resolve(flags.dist)
const routes = ['/', '/api/health']
const clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }))
const maxConnections = Math.max(...options.connections)

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

  const apiEnv = {
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    SECRET_KEY: 'bench-secret-key-0123456789abcdef0123456789'
  }
  const apiArgs = await startScriptArgs()
  const specs: ServerSpec[] = [
    { name: 'baseline', label: 'baseline (node:http + pg)', args: [path.join(root, 'bench/baseline-server.js')], env: { DATABASE_URL: databaseUrl } },
    { name: 'fastify-alone', label: 'Fastify alone (routes only, no security headers)', args: [path.join(root, 'bench/fastify-floor-server.js')], env: { DATABASE_URL: databaseUrl, BENCH_SECURITY_HEADERS: 'off' } },
    { name: 'fastify-floor', label: 'Fastify floor (routes + security headers only)', args: [path.join(root, 'bench/fastify-floor-server.js')], env: { DATABASE_URL: databaseUrl, BENCH_DIST: dist } },
    // Metrics on, as by default, each on a loopback address of its own so the two never compete for METRICS_PORT.
    { name: 'api', label: 'API, production defaults (LOG_LEVEL=info)', args: apiArgs, env: { ...apiEnv, METRICS_HOST: '127.0.0.2' } },
    { name: 'api-quiet', label: 'API, LOG_LEVEL=warn (no access log)', args: apiArgs, env: { ...apiEnv, METRICS_HOST: '127.0.0.3', LOG_LEVEL: 'warn' } }
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
      startToFirstAnswerMs: median(startMs),
      startToFirstAnswerRunsMs: startMs.map(round1),
      idleRssMb: median(idleRssMb),
      peakRssMb: 0,
      rssAfterLoadMb: 0,
      rssSettledMb: 0,
      rssSettleSamplesMb: [],
      logLines: 0,
      logBytes: 0
    })
  }

  // A yardstick is only worth comparing with when it answers what the API answers.
  for (const route of routes) {
    const expected = await bodyOf(running.get('api')!.url + route)
    for (const spec of specs) {
      const body = await bodyOf(running.get(spec.name)!.url + route)
      if (body !== expected) throw new Error(`${spec.name} answers GET ${route} with ${body}, the API with ${expected}`)
    }
  }

  // Servers take turns on each route and connection count, so a disturbance of the machine
  // lands on all of them rather than on one.
  const runs: RunResult[] = []
  for (const connections of options.connections) {
    for (const route of routes) {
      for (const spec of specs) {
        const server = running.get(spec.name)!
        log(`${spec.name} GET ${route} at ${connections} connections`)
        const watch = connections === maxConnections ? watchMemory(server.pid) : undefined
        if (options.warmup > 0) await autocannon(server.url + route, connections, options.warmup)
        const cpuBefore = await readCpuSeconds(server.pid)
        const result = await autocannon(server.url + route, connections, options.duration)
        const cpuSeconds = await readCpuSeconds(server.pid) - cpuBefore
        const watched = await watch?.stop()
        const memory = await readMemory(server.pid)
        const summary = results.get(spec.name)!
        if (watched !== undefined) {
          summary.peakRssMb = Math.max(summary.peakRssMb, memory.hwmMb)
          summary.sampledPeakRssMb = Math.max(summary.sampledPeakRssMb ?? 0, watched)
        }
        summary.rssAfterLoadMb = memory.rssMb
        runs.push({
          server: spec.name,
          route,
          connections,
          requestsPerSecond: result.requests.average,
          requests: result.requests.total,
          cpuMicrosPerRequest: Math.round(cpuSeconds * 1e6 / Math.max(1, result.requests.total + result.non2xx)),
          p50Ms: result.latency.p50,
          p99Ms: result.latency.p99,
          maxMs: result.latency.max,
          errors: result.errors,
          timeouts: result.timeouts,
          non2xx: result.non2xx,
          statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count]))
        })
      }
    }
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
  const targets = evaluateTargets(runs, servers, options.connections)
  const report = {
    date: new Date().toISOString(),
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim().replace(/ --$/, ''),
    database: external ? 'DATABASE_URL' : 'embedded PostgreSQL (throwaway)',
    logOutput: 'each server\'s stdout and stderr go to a file in a temporary folder',
    options,
    machine,
    servers,
    runs,
    targets
  }

  await mkdir(flags.out, { recursive: true })
  const outFile = path.join(flags.out, `bench-${report.date.replace(/[:.]/g, '-')}.json`)
  await writeFile(outFile, JSON.stringify(report, null, 2) + '\n')
  process.stdout.write('\n' + markdownTable(report) + `\nJSON: ${path.relative(process.cwd(), outFile)}\n`)
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
    env: { PATH: process.env.PATH, ...spec.env, PORT: '0' },
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

  // Each server listens on a port of the system's choosing (not every server logs it).
  const exitedEarly = async () => {
    const output = await readFile(logPath, 'utf8')
    return new Error(`${spec.name} exited before answering:\n${output.slice(-2000)}`)
  }
  let port: number | undefined
  while (port === undefined) {
    if (hasExited) throw await exitedEarly()
    port = await listeningPort(child.pid!)
    if (port === undefined) await sleep(2)
  }
  const url = `http://127.0.0.1:${port}`
  while (await statusOf(url + '/') !== 200) {
    if (hasExited) throw await exitedEarly()
    await sleep(2)
  }
  const firstAnswerMs = performance.now() - started
  return { server: { spec, pid: child.pid!, url, logPath, stop }, firstAnswerMs }
}

/**
 * The TCP port process `pid` listens on at 127.0.0.1, from /proc: undefined until it listens. The
 * API also listens for metrics scrapes on another loopback address, which this leaves out.
 */
async function listeningPort (pid: number): Promise<number | undefined> {
  const sockets = new Set<string>()
  for (const fd of await readdir(`/proc/${pid}/fd`).catch(() => [])) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1]
    if (inode !== undefined) sockets.add(inode)
  }
  // /proc/net/tcp: local address as hex ip:port (127.0.0.1 is 0100007F), state 0A is LISTEN, the inode in the tenth column.
  for (const line of (await readFile('/proc/net/tcp', 'utf8')).split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/)
    const [address, port] = fields[1]?.split(':') ?? []
    if (fields[3] === '0A' && address === '0100007F' && sockets.has(fields[9])) return parseInt(port, 16)
  }
  return undefined
}

async function bodyOf (url: string): Promise<string> {
  const response = await fetch(url)
  return await response.text()
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

interface AutocannonResult {
  requests: { average: number, total: number }
  latency: { p50: number, p99: number, max: number }
  errors: number
  timeouts: number
  non2xx: number
  statusCodeStats: Record<string, { count: number }>
}

/** One autocannon process, in its own process as the servers are in theirs. */
async function autocannon (url: string, connections: number, seconds: number): Promise<AutocannonResult> {
  const bin = fileURLToPath(import.meta.resolve('autocannon/autocannon.js'))
  const output = await runToEnd(process.execPath, [bin, '--json', '-c', String(connections), '-d', String(seconds), url])
  return JSON.parse(output) as AutocannonResult
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

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return round1(sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2)
}

function round1 (value: number): number {
  return Math.round(value * 10) / 10
}

function log (message: string): void {
  process.stderr.write(`bench: ${message}\n`)
}
