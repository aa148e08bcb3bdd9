import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { ROUTES, type Report } from '../../bench/report.js'

const root = fileURLToPath(new URL('../..', import.meta.url))

// The whole of `npm run bench` (build, database, the yardstick and the API, load runs, tables, JSON),
// kept short: one round of one-second runs at few connections. Its figures are not checked, only that it works.
t.test('npm run bench builds, measures every route on every server, prints the tables and writes the JSON', async (t) => {
  const out = await mkdtemp(path.join(tmpdir(), 'spinta-bench-smoke-'))
  t.teardown(() => rm(out, { recursive: true, force: true }))
  // Its own build, inside the project as dist/ is: the project's dist/, which `npm start` may be
  // serving from, is left alone.
  await mkdir(path.join(root, '.artifacts'), { recursive: true })
  const dist = await mkdtemp(path.join(root, '.artifacts', 'bench-smoke-dist-'))
  t.teardown(() => rm(dist, { recursive: true, force: true }))
  const projectDist = () => stat(path.join(root, 'dist', 'src', 'server.js')).then((file) => file.mtimeMs, () => 'absent')
  const projectDistBefore = await projectDist()
  // Its own throwaway database, and no coverage collection: the benchmark runs the code through
  // another loader (tsx), whose coverage would not merge with the test runner's.
  const { DATABASE_URL: _external, NODE_V8_COVERAGE: _coverage, ...inherited } = process.env
  const env = { ...inherited, _TAPJS_PROCESSINFO_COVERAGE_: '0' }
  const args = ['run', 'bench', '--', '--rounds', '1', '--duration', '1', '--warmup', '0', '--connections', '10', '--burst', '20', '--startups', '1', '--settle', '0', '--out', out, '--dist', dist]
  const child = spawn('npm', args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const code = await new Promise((resolve) => child.once('exit', resolve))
  t.equal(code, 0, stderr.slice(-2000))
  t.equal(await projectDist(), projectDistBefore, 'the project\'s dist/ is not rebuilt')
  t.ok((await stat(path.join(dist, 'src', 'server.js'))).isFile(), 'the API was built into --dist')

  t.match(stdout, '| route | server | req/s (median) | req/s by round | p50 ms | p99 ms | req/s vs yardstick | p99 vs yardstick | server CPU µs/req |')
  t.match(stdout, /\| GET \/api\/users\/me \| API, production defaults \| /)
  t.match(stdout, '| target (API with production defaults) | measured | met |')

  const [file] = (await readdir(out)).filter((name) => name.endsWith('.json'))
  t.ok(file, 'a JSON file in --out')
  const report = JSON.parse(await readFile(path.join(out, file ?? ''), 'utf8')) as Report
  t.same(report.servers.map((server) => server.name), ['yardstick', 'api', 'api-traced'])
  t.same([...new Set(report.runs.map((run) => run.route))], Object.values(ROUTES), 'every route: the roster of a small team, and the first and last page of a large one')
  t.equal(report.runs.length, 18, 'six routes on three servers, one round')
  t.equal(report.burst.length, 18, 'and once more with more connections')
  for (const run of [...report.runs, ...report.burst]) {
    t.ok(run.requests > 0, `${run.server} answered ${run.route}`)
    t.equal(run.errors + run.non2xx, 0, `${run.server} ${run.route} without errors`)
  }
  for (const server of report.servers) {
    // Each figure read, from the server's own process: a figure that was never read stays 0.
    for (const figure of ['idleRssMb', 'peakRssMb', 'rssAfterLoadMb', 'startToFirstAnswerMs'] as const) {
      t.ok(Number.isFinite(server[figure]) && server[figure] > 0, `${server.name} ${figure} measured`)
    }
  }

  // The API runs with production logging, an access line for each request but a passing health
  // check, and the yardstick writes the same lines.
  for (const server of ['api', 'yardstick']) {
    const answered = report.runs.filter((run) => run.server === server && run.route !== ROUTES.health).reduce((sum, run) => sum + run.requests, 0)
    t.ok((report.servers.find(({ name }) => name === server)?.logLines ?? 0) >= answered, `${server} logged its requests`)
  }
  t.ok(report.targets.length > 0, 'the targets are evaluated')
})
