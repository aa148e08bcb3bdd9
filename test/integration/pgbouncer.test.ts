import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import t from 'tap'
import { buildApp, captureLogs, startTestDatabase, testEnv } from '../helper.js'
import { newAccount, register, signIn } from '../accounts.js'
import { startPgBouncer } from '../pgbouncer.js'
import { testRunnerEnv } from '../spawn-server.js'
import { projectRoot } from '../../src/project.js'

// The app through PgBouncer in transaction mode, as hosted poolers run it: each transaction may get
// another server connection, and with one server connection every client shares it, so any session
// state the app left behind would be seen by the next client.
const database = await startTestDatabase(t)
const pooler = await startPgBouncer(t, database.url, { poolSize: 1 })
const poolerUrl = pooler.url(database.url)
// PgBouncer 1.18 cannot carry named prepared statements from one server connection to another.
const production = { NODE_ENV: 'production', LOGIN_ATTEMPTS_PER_MINUTE: '5', DATABASE_PREPARED_STATEMENTS: 'false' }

async function pooledClient (t: { teardown: (fn: () => unknown) => void }, url = poolerUrl): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  t.teardown(() => client.end())
  return client
}

const runCli = promisify(execFile)
const cliCwd = await mkdtemp(path.join(tmpdir(), 'spinta-migrate-'))
t.teardown(() => rm(cliCwd, { recursive: true, force: true }))
// scripts/migrate.ts under the test runner's loaders, from an empty directory so no `.env` is read.
const migrateCli = (url: string) => runCli(process.execPath, [...process.execArgv, path.join(projectRoot, 'scripts', 'migrate.ts')], {
  cwd: cliCwd,
  env: { ...testRunnerEnv(), PATH: process.env.PATH, NODE_ENV: 'production', DATABASE_URL: url }
})

t.test('this PgBouncer refuses a statement_timeout start-up parameter, as hosted poolers do', async (t) => {
  const client = new pg.Client({ connectionString: poolerUrl, statement_timeout: 1000 })
  await t.rejects(client.connect(), /unsupported startup parameter: statement_timeout/)
  await client.end().catch(() => {})
})

t.test('npm run migrate through the pooler: two runs at once, the schema applied once', async (t) => {
  const runs = await Promise.all([migrateCli(poolerUrl), migrateCli(poolerUrl)])
  const outputs = runs.map(({ stdout }) => stdout).sort()
  t.same(outputs, [
    'The schema is already at version 4 (the latest): nothing to do.\n',
    'applied 001.do.create-users\napplied 002.do.create-rate-limits\napplied 003.do.create-sessions\napplied 004.do.sign-in-hardening\nThe schema is now at version 4 (the latest).\n'
  ])
})

t.test('the whole API through the pooler: register, token, me, health, the sign-in limit', async (t) => {
  const logs = captureLogs()
  const app = await buildApp(t, testEnv({ url: poolerUrl }, production), { logs })
  const account = newAccount('pooled')

  t.equal((await register(app, account)).statusCode, 201)
  const token = await signIn(app, account.email, account.password)
  t.equal(token.statusCode, 200)
  const me = await app.inject({ method: 'GET', url: '/api/users/me', headers: { authorization: `Bearer ${token.json().access_token}` } })
  t.equal(me.statusCode, 200)
  t.equal(me.json().email, account.email)
  t.equal((await app.inject({ method: 'GET', url: '/api/health/ready' })).statusCode, 200)
  t.same((await app.inject({ method: 'GET', url: '/api/health' })).json(), { status: 'healthy', database: 'connected' })

  for (let attempt = 2; attempt <= 5; attempt++) t.equal((await signIn(app, account.email, 'a wrong guess')).statusCode, 400, `attempt ${attempt}`)
  t.equal((await signIn(app, account.email, account.password)).statusCode, 429, 'the sixth attempt is refused')

  const warning = logs.lines.find((line) => line.level === 40 && /statement_timeout/.test(String(line.msg)))
  t.match(warning?.msg, /role postgres has no statement_timeout, and DATABASE_QUERY_TIMEOUT_MS is 30000: run ALTER ROLE "postgres" SET statement_timeout = 30000/,
    'without a role-level timeout, production start-up says how to set one')
})

t.test('no session state outlives a transaction: the shared server connection is as the server made it', async (t) => {
  const client = await pooledClient(t)
  const { rows: [state] } = await client.query(`SELECT current_setting('statement_timeout') AS statement_timeout,
    (SELECT count(*)::integer FROM pg_prepared_statements) AS prepared,
    (SELECT count(*)::integer FROM pg_locks WHERE locktype = 'advisory') AS advisory_locks`)
  t.same(state, { statement_timeout: '0', prepared: 0, advisory_locks: 0 })
})

t.test('a role-level statement_timeout reaches pooled sessions, and start-up reports it without a warning', async (t) => {
  const admin = new pg.Client({ connectionString: database.url })
  await admin.connect()
  t.teardown(() => admin.end())
  await admin.query('ALTER ROLE postgres SET statement_timeout = 250')
  t.teardown(() => admin.query('ALTER ROLE postgres RESET statement_timeout'))

  // A role's settings apply to new server sessions: a pooler's open ones keep theirs until reconnected.
  const fresh = await startPgBouncer(t, database.url)
  const freshUrl = fresh.url(database.url)
  const client = await pooledClient(t, freshUrl)
  await t.rejects(client.query('SELECT pg_sleep(60)'), { code: '57014' }, 'the server cancels a statement past the role\'s timeout')

  const logs = captureLogs()
  await buildApp(t, testEnv({ url: freshUrl }, production), { logs })
  t.match(logs.lines.find((line) => line.msg === 'database connection checked'), { statementTimeoutMs: 250 })
  t.notOk(logs.lines.some((line) => /statement_timeout/.test(String(line.msg))), 'no warning')
})
