/** What `npm run bench` measured, and the targets checked against it (docs/performance.md). */

export const YARDSTICK = 'yardstick'
export const API = 'api'

/** One load run, as bench/load.js prints it. */
export interface LoadResult {
  /** Mean of autocannon's per-second samples. */
  requestsPerSecond: number
  requests: number
  p50Micros: number
  p99Micros: number
  maxMicros: number
  /** Connection errors and timeouts together, as autocannon counts them. */
  errors: number
  /** Requests with no answer within autocannon's 10 s timeout: stalls. */
  timeouts: number
  non2xx: number
  statusCodes: Record<string, number>
}

export interface RunResult extends LoadResult {
  server: string
  route: string
  connections: number
  round: number
  /** CPU time the server process used per answer: steadier than req/s when other work shares the machine. */
  cpuMicrosPerRequest: number
}

export interface ServerResult {
  name: string
  label: string
  /** Median, from spawning the process to the first 200 on GET /. */
  startToFirstAnswerMs: number
  startToFirstAnswerRunsMs: number[]
  /** VmRSS one second after the first answer, median over the starts. */
  idleRssMb: number
  /** VmHWM after the burst runs: the most the process ever had resident. */
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
  date: string
  command: string
  database: string
  options: { rounds: number, duration: number, warmup: number, connections: number, burst: number, startups: number, settle: number }
  machine: { cpus: number, cpuModel: string, memoryGb: number, node: string, loadAverageAtStart: number[], loadAverageAtEnd: number[] }
  servers: ServerResult[]
  /** The rounds at `options.connections`, the targets' runs. */
  runs: RunResult[]
  /** One run per server and route at `options.burst` connections. */
  burst: RunResult[]
  targets: Target[]
}

/** A server's figures on one route over the rounds: medians, and its ratios to the yardstick in the same round. */
export interface RouteSummary {
  server: string
  route: string
  requestsPerSecond: number
  roundsRequestsPerSecond: number[]
  p50Micros: number
  p99Micros: number
  cpuMicrosPerRequest: number
  /** Median over the rounds of req/s divided by the yardstick's in that round. */
  throughputRatio: number
  /** Median over the rounds of p99 divided by the yardstick's in that round. */
  p99Ratio: number
}

/** The measured requests, by name: the roster of a team of 30 (one page) and of 1,000 (its first and last page of 50). */
export const ROUTES = {
  root: 'GET /',
  health: 'GET /api/health',
  me: 'GET /api/users/me',
  roster: 'GET /api/teams/{id}/players?limit=50, 30 players',
  rosterFirst: 'GET /api/teams/{id}/players?limit=50, 1,000 players, first page',
  rosterLast: 'GET /api/teams/{id}/players?limit=50, 1,000 players, last page'
} as const

/** Targets for the API against the yardstick, per route: least req/s ratio, most p99 ratio. */
const routeTargets: Array<{ route: string, throughput: number, p99: number }> = [
  { route: ROUTES.root, throughput: 0.9, p99: 1.25 },
  // Against a yardstick that queries the database for every probe.
  { route: ROUTES.health, throughput: 2.0, p99: 0.6 },
  { route: ROUTES.me, throughput: 0.95, p99: 1.25 },
  { route: ROUTES.roster, throughput: 0.9, p99: 1.25 },
  { route: ROUTES.rosterFirst, throughput: 0.9, p99: 1.25 },
  { route: ROUTES.rosterLast, throughput: 0.9, p99: 1.25 }
]

export function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length === 0 ? NaN : sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

export function summarize (runs: RunResult[], server: string, route: string): RouteSummary {
  const own = runs.filter((run) => run.server === server && run.route === route)
  const yardstick = (round: number) => runs.find((run) => run.server === YARDSTICK && run.route === route && run.round === round)
  const ratios = (figure: (run: RunResult) => number) => median(own.map((run) => {
    const other = yardstick(run.round)
    return other === undefined || figure(other) === 0 ? NaN : figure(run) / figure(other)
  }))
  return {
    server,
    route,
    requestsPerSecond: median(own.map((run) => run.requestsPerSecond)),
    roundsRequestsPerSecond: own.map((run) => run.requestsPerSecond),
    p50Micros: median(own.map((run) => run.p50Micros)),
    p99Micros: median(own.map((run) => run.p99Micros)),
    cpuMicrosPerRequest: median(own.map((run) => run.cpuMicrosPerRequest)),
    throughputRatio: ratios((run) => run.requestsPerSecond),
    p99Ratio: ratios((run) => run.p99Micros)
  }
}

/** The targets, for the API with its production defaults against the yardstick of the same run. */
export function evaluateTargets (report: Omit<Report, 'targets'>): Target[] {
  const { runs, burst, servers, options } = report
  const targets: Target[] = []
  const api = servers.find((server) => server.name === API)
  const yardstick = servers.find((server) => server.name === YARDSTICK)
  if (api === undefined || yardstick === undefined) return targets

  for (const { route, throughput, p99 } of routeTargets) {
    const summary = summarize(runs, API, route)
    targets.push({
      target: `${route} ≥ ${throughput.toFixed(2)} × the yardstick's req/s at ${options.connections} connections`,
      measured: `${summary.throughputRatio.toFixed(2)} ×`,
      met: summary.throughputRatio >= throughput
    })
    targets.push({
      target: `${route} p99 ≤ ${p99.toFixed(2)} × the yardstick's p99`,
      measured: `${summary.p99Ratio.toFixed(2)} ×`,
      met: summary.p99Ratio <= p99
    })
  }

  // Keyset pages cost the same wherever they start: the last page of a long roster as much as its first.
  const first = summarize(runs, API, ROUTES.rosterFirst).requestsPerSecond
  const last = summarize(runs, API, ROUTES.rosterLast).requestsPerSecond
  targets.push({
    target: 'roster of 1,000: the last page\'s req/s within 10 % of the first page\'s',
    measured: `${formatInteger(last)} vs ${formatInteger(first)} req/s (${(last / first).toFixed(2)} ×)`,
    met: Math.abs(last / first - 1) <= 0.1
  })

  const apiBurst = burst.filter((run) => run.server === API)
  const failures = apiBurst.reduce((sum, run) => sum + run.errors + run.non2xx, 0)
  const stalls = apiBurst.reduce((sum, run) => sum + run.timeouts, 0)
  targets.push({
    target: `0 errors, 0 non-2xx and 0 stalls at ${options.burst} connections (every route)`,
    measured: `${failures} errors + non-2xx, ${stalls} stalls`,
    met: failures === 0 && stalls === 0
  })

  const idleRatio = api.idleRssMb / yardstick.idleRssMb
  targets.push({
    target: 'idle RSS after start-up ≤ 1.5 × the yardstick\'s',
    measured: `${api.idleRssMb} MB vs ${yardstick.idleRssMb} MB (${idleRatio.toFixed(2)} ×)`,
    met: idleRatio <= 1.5
  })
  targets.push({ target: `peak RSS at ${options.burst} connections ≤ 256 MB`, measured: `${api.peakRssMb} MB`, met: api.peakRssMb <= 256 })
  // Closing a thousand sockets moves memory for a moment after the load; what must not happen is
  // memory that keeps climbing without load, so the second half of the settle period is compared.
  const samples = api.rssSettleSamplesMb
  const halfway = samples[Math.floor((samples.length - 1) / 2)] ?? api.rssAfterLoadMb
  targets.push({
    target: 'RSS stops growing once the load stops',
    measured: `${api.rssAfterLoadMb} MB right after its last run, ${halfway} MB halfway through the ${samples.length - 1} s that follow, ${api.rssSettledMb} MB at their end`,
    met: api.rssSettledMb <= halfway * 1.01
  })
  const startRatio = api.startToFirstAnswerMs / yardstick.startToFirstAnswerMs
  targets.push({
    target: 'process start to first answer ≤ 2.0 × the yardstick\'s (database already running)',
    measured: `${api.startToFirstAnswerMs} ms vs ${yardstick.startToFirstAnswerMs} ms (${startRatio.toFixed(2)} ×, medians of ${api.startToFirstAnswerRunsMs.length})`,
    met: startRatio <= 2.0
  })
  return targets
}

const formatInteger = (value: number) => Math.round(value).toLocaleString('en-US')
const milliseconds = (micros: number) => (micros / 1000).toFixed(2)

function table (header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n') + '\n'
}

/** The report as Markdown, ready to paste into docs/performance.md. */
export function markdownTables (report: Report): string {
  const { machine, options, servers, runs, burst } = report
  const label = (name: string) => servers.find((server) => server.name === name)?.label ?? name
  const routes = [...new Set(runs.map((run) => run.route))]

  const rounds = table(
    ['route', 'server', 'req/s (median)', 'req/s by round', 'p50 ms', 'p99 ms', 'req/s vs yardstick', 'p99 vs yardstick', 'server CPU µs/req'],
    routes.flatMap((route) => servers.map((server) => {
      const summary = summarize(runs, server.name, route)
      const own = server.name === YARDSTICK
      return [
        route,
        label(server.name),
        formatInteger(summary.requestsPerSecond),
        summary.roundsRequestsPerSecond.map(formatInteger).join(', '),
        milliseconds(summary.p50Micros),
        milliseconds(summary.p99Micros),
        own ? '1.00' : summary.throughputRatio.toFixed(2),
        own ? '1.00' : summary.p99Ratio.toFixed(2),
        formatInteger(summary.cpuMicrosPerRequest)
      ]
    }))
  )

  const bursts = table(
    ['route', 'server', 'req/s', 'p50 ms', 'p99 ms', 'errors + non-2xx', 'stalls'],
    burst.map((run) => [
      run.route,
      label(run.server),
      formatInteger(run.requestsPerSecond),
      milliseconds(run.p50Micros),
      milliseconds(run.p99Micros),
      String(run.errors + run.non2xx),
      String(run.timeouts)
    ])
  )

  const memory = table(
    ['server', 'start → first answer', 'idle RSS', `peak RSS at ${options.burst} conns`, 'RSS after load', `RSS ${options.settle} s later`, 'log lines written'],
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
    `${options.rounds} rounds at ${options.connections} connections; each run ${options.warmup} s of warm-up, then ${options.duration} s measured ` +
      `by autocannon in its own process. Database: ${report.database}. Server logs go to a file.`,
    '',
    `At ${options.connections} connections, medians over the rounds (ratios are taken within each round):`,
    '',
    rounds,
    `At ${options.burst} connections, one run each:`,
    '',
    bursts,
    memory,
    targets
  ].join('\n')
}
