/** What `npm run bench` measured, and the targets checked against it (docs/performance.md). */

export interface RunResult {
  server: string
  route: string
  connections: number
  /** Mean of autocannon's per-second samples. */
  requestsPerSecond: number
  requests: number
  /** CPU time the server process used per answer: steadier than req/s when other work shares the machine. */
  cpuMicrosPerRequest: number
  p50Ms: number
  p99Ms: number
  maxMs: number
  /** Connection errors and timeouts together, as autocannon counts them. */
  errors: number
  /** Requests with no answer within autocannon's 10 s timeout: stalls. */
  timeouts: number
  non2xx: number
  statusCodes: Record<string, number>
}

export interface ServerResult {
  name: string
  label: string
  /** Median, from spawning the process to the first 200 on GET /. */
  startToFirstAnswerMs: number
  startToFirstAnswerRunsMs: number[]
  /** VmRSS one second after the first answer, median over the starts. */
  idleRssMb: number
  /** VmHWM after the runs at the most connections: the most the process ever had resident. */
  peakRssMb: number
  /** The largest VmRSS sampled every 100 ms during those runs. */
  sampledPeakRssMb?: number
  /** VmRSS right after the server's last run. */
  rssAfterLoadMb: number
  /** VmRSS every second of the settle period that follows the last run of all. */
  rssSettleSamplesMb: number[]
  /** The last of those samples. */
  rssSettledMb: number
  logLines: number
  logBytes: number
}

export interface Target {
  target: string
  measured: string
  met: boolean
}

export interface Report {
  command: string
  database: string
  logOutput: string
  options: { duration: number, warmup: number, connections: number[], startups: number, settle: number }
  machine: { cpus: number, cpuModel: string, memoryGb: number, node: string, loadAverageAtStart: number[], loadAverageAtEnd: number[] }
  servers: ServerResult[]
  runs: RunResult[]
  targets: Target[]
}

const BASELINE = 'baseline'
const API = 'api'

function find (runs: RunResult[], server: string, route: string, connections: number): RunResult | undefined {
  return runs.find((run) => run.server === server && run.route === route && run.connections === connections)
}

function ratio (runs: RunResult[], run: RunResult): number {
  const baseline = find(runs, BASELINE, run.route, run.connections)
  return baseline === undefined || baseline.requestsPerSecond === 0 ? NaN : run.requestsPerSecond / baseline.requestsPerSecond
}

/** The targets, for the API with its production defaults against the baseline of the same run. */
export function evaluateTargets (runs: RunResult[], servers: ServerResult[], connections: number[]): Target[] {
  const targets: Target[] = []
  const api = servers.find((server) => server.name === API)
  const baseline = servers.find((server) => server.name === BASELINE)
  if (api === undefined || baseline === undefined) return targets
  const most = Math.max(...connections)

  const rootRatios = connections.map((count) => find(runs, API, '/', count)).filter((run) => run !== undefined).map((run) => ({ count: run.connections, value: ratio(runs, run) }))
  targets.push({
    target: 'GET / ≥ 0.90 × baseline req/s (access log on), at every connection count',
    measured: rootRatios.map(({ count, value }) => `${value.toFixed(2)} at ${count}`).join(', '),
    met: rootRatios.every(({ value }) => value >= 0.9)
  })

  const health50 = find(runs, API, '/api/health', 50)
  if (health50 !== undefined) {
    const value = ratio(runs, health50)
    targets.push({ target: 'GET /api/health ≥ 2.5 × baseline req/s at 50 connections', measured: `${value.toFixed(2)}`, met: value >= 2.5 })
    targets.push({ target: 'GET /api/health p99 ≤ 5 ms at 50 connections', measured: `${health50.p99Ms} ms`, met: health50.p99Ms <= 5 })
  }

  const atMost = runs.filter((run) => run.server === API && run.connections === most)
  const failures = atMost.reduce((sum, run) => sum + run.errors + run.non2xx, 0)
  const stalls = atMost.reduce((sum, run) => sum + run.timeouts, 0)
  targets.push({
    target: `0 errors, 0 non-2xx and 0 stalls at ${most} connections (both routes)`,
    measured: `${failures} errors + non-2xx, ${stalls} stalls`,
    met: failures === 0 && stalls === 0
  })

  const idleRatio = api.idleRssMb / baseline.idleRssMb
  targets.push({
    target: 'idle RSS after start-up ≤ 1.5 × baseline',
    measured: `${api.idleRssMb} MB vs ${baseline.idleRssMb} MB (${idleRatio.toFixed(2)} ×)`,
    met: idleRatio <= 1.5
  })
  targets.push({ target: `peak RSS at ${most} connections ≤ 256 MB`, measured: `${api.peakRssMb} MB`, met: api.peakRssMb <= 256 })
  // Closing a thousand sockets moves memory for a moment after the load; what must not happen is
  // memory that keeps climbing without load, so the second half of the settle period is compared.
  const samples = api.rssSettleSamplesMb
  const halfway = samples[Math.floor((samples.length - 1) / 2)] ?? api.rssAfterLoadMb
  targets.push({
    target: 'RSS stops growing once the load stops',
    measured: `${api.rssAfterLoadMb} MB right after its last run, ${halfway} MB halfway through the ${samples.length - 1} s that follow, ${api.rssSettledMb} MB at their end`,
    met: api.rssSettledMb <= halfway * 1.01
  })
  targets.push({
    target: 'process start to first answer ≤ 500 ms (database already running)',
    measured: `${api.startToFirstAnswerMs} ms (median of ${api.startToFirstAnswerRunsMs.length})`,
    met: api.startToFirstAnswerMs <= 500
  })
  return targets
}

const formatInteger = (value: number) => Math.round(value).toLocaleString('en-US')

function table (header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n') + '\n'
}

/** The report as Markdown, ready to paste into docs/performance.md. */
export function markdownTable (report: Report): string {
  const { machine, options, servers, runs } = report
  const label = (name: string) => servers.find((server) => server.name === name)?.label ?? name
  const most = Math.max(...options.connections)

  const throughput = table(
    ['route', 'server', 'connections', 'req/s', 'p50 ms', 'p99 ms', 'errors + non-2xx', 'vs baseline', 'server CPU µs/req'],
    runs.map((run) => [
      `GET ${run.route}`,
      label(run.server),
      String(run.connections),
      formatInteger(run.requestsPerSecond),
      String(run.p50Ms),
      String(run.p99Ms),
      String(run.errors + run.non2xx) + (run.timeouts > 0 ? ` (${run.timeouts} stalls)` : ''),
      run.server === BASELINE ? '1.00' : ratio(runs, run).toFixed(2),
      String(run.cpuMicrosPerRequest)
    ])
  )

  const memory = table(
    ['server', 'start → first answer', 'idle RSS', `peak RSS at ${most} conns`, 'RSS after load', `RSS ${options.settle} s later`, 'log lines written'],
    servers.map((server) => [
      server.label,
      `${formatInteger(server.startToFirstAnswerMs)} ms`,
      `${server.idleRssMb} MB`,
      `${server.peakRssMb} MB`,
      `${server.rssAfterLoadMb} MB`,
      `${server.rssSettledMb} MB`,
      formatInteger(server.logLines)
    ])
  )

  const targets = table(
    ['target (API with production defaults)', 'measured', 'met'],
    report.targets.map((target) => [target.target, target.measured, target.met ? 'yes' : '**no**'])
  )

  const load = (values: number[]) => values.map((value) => value.toFixed(2)).join(' ')
  return [
    `Machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGb} GB, Node ${machine.node}. ` +
      `Load average ${load(machine.loadAverageAtStart)} at the start, ${load(machine.loadAverageAtEnd)} at the end.`,
    `Each run: ${options.warmup} s warm-up, then ${options.duration} s measured by autocannon in its own process. ` +
      `Database: ${report.database}. Server logs go to a file.`,
    '',
    throughput,
    memory,
    targets
  ].join('\n')
}
