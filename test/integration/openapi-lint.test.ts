import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { buildApp, startTestDatabase, testEnv } from '../helper.js'
import { projectRoot } from '../../src/project.js'

const redocly = path.join(projectRoot, 'node_modules', '@redocly', 'cli', 'bin', 'cli.js')
const config = path.join(projectRoot, 'redocly.yaml')

interface LintReport {
  totals: { errors: number, warnings: number }
  problems: Array<{ ruleId: string, severity: string, message: string, location: Array<{ pointer: string }> }>
}

/**
 * Redocly CLI's verdict on a document file. Offline and quiet: no telemetry, no update check, and a
 * time limit so that a network wait would fail the test rather than hang it.
 */
async function lint (file: string): Promise<LintReport> {
  const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' }
  const stdout = await new Promise<string>((resolve, reject) => {
    // It exits 1 when it reports an error: the JSON report on stdout says what, so that is not a failure here.
    execFile(process.execPath, [redocly, 'lint', file, `--config=${config}`, '--format=json'], { env, timeout: 60_000 }, (error, out, err) => {
      if (error !== null && out.trim() === '') reject(new Error(`redocly lint failed: ${error.message}\n${err}`))
      else resolve(out)
    })
  })
  return JSON.parse(stdout) as LintReport
}

const describe = ({ problems }: LintReport) =>
  problems.map(({ severity, ruleId, message, location }) => `${severity} ${ruleId} at ${location[0]?.pointer}: ${message}`)

const database = await startTestDatabase(t)
const app = await buildApp(t, testEnv(database))
const served = (await app.inject({ method: 'GET', url: '/openapi.json' })).json()
const dir = await mkdtemp(path.join(tmpdir(), 'spinta-openapi-lint-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))

async function lintDocument (document: unknown): Promise<LintReport> {
  const file = path.join(dir, `openapi-${Math.random().toString(36).slice(2)}.json`)
  await writeFile(file, JSON.stringify(document, null, 2))
  return lint(file)
}

t.test('the served /openapi.json passes Redocly\'s recommended rules with no error and no warning', async (t) => {
  const report = await lintDocument(served)
  t.same(describe(report), [], 'no problem reported')
  t.same(report.totals, { errors: 0, warnings: 0, ignored: 0 })
})

t.test('the committed openapi.json passes them too', async (t) => {
  const report = await lint(path.join(projectRoot, 'openapi.json'))
  t.same(describe(report), [], 'no problem reported')
})

t.test('the linter reports what the document used to lack, so its silence above means something', async (t) => {
  const broken = structuredClone(served)
  delete broken.servers
  delete broken.info.license
  delete broken.paths['/'].get.security
  for (const status of ['400', '503']) delete broken.paths['/'].get.responses[status]
  const rules = new Set(describe(await lintDocument(broken)).map((line) => line.split(' ')[1]))
  t.same([...rules].sort(), ['info-license', 'no-empty-servers', 'operation-4xx-response', 'security-defined'])
})
