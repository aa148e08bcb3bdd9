import { execFile } from 'node:child_process'
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import t from 'tap'
import { testRunnerEnv } from '../spawn-server.js'
import { buildApp, captureLogs, databaseParentDir, NOWHERE_SMTP_URL, startTestDatabase, testEnv } from '../helper.js'
import { newAccount, register } from '../accounts.js'
import { migrate, migrationsDir, readSchemaVersion } from '../../src/database/migrations.js'
import { projectRoot } from '../../src/project.js'

type Cleanup = Pick<typeof t, 'teardown'>

/** The release's migrations, in order: each test expects every one of them. */
const migrations = (await readdir(migrationsDir)).flatMap((file) => {
  const match = /^(\d+)\.do\.(.+)\.sql$/.exec(file)
  return match === null ? [] : [{ file: file.replace(/\.sql$/, ''), version: Number(match[1]), name: match[2] }]
}).sort((a, b) => a.version - b.version)
const latest = migrations.at(-1)!.version
const versions = migrations.map(({ version }) => version)
const steps = (action: 'do' | 'undo') => migrations.map(({ version, name }) => ({ version, name, action }))

/** What `npm run migrate` prints when it takes a new database to the latest version. */
const UP_TO_LATEST = `${migrations.map(({ file }) => `applied ${file}\n`).join('')}The schema is now at version ${latest} (the latest).\n`

const database = await startTestDatabase(t)
let databases = 0

/** A new, empty database in the test cluster, and a connected client to it. */
async function freshDatabase (t: Cleanup): Promise<{ url: string, client: pg.Client }> {
  const name = `migrations_${++databases}`
  const admin = new pg.Client({ connectionString: database.url })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  const url = new URL(database.url)
  url.pathname = `/${name}`
  const client = await connectedClient(t, url.href)
  return { url: url.href, client }
}

async function connectedClient (t: Cleanup, connectionString: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString })
  await client.connect()
  t.teardown(() => client.end())
  return client
}

async function tableExists (client: pg.Client, table: string): Promise<boolean> {
  const { rows } = await client.query('SELECT to_regclass($1) IS NOT NULL AS present', [table])
  return rows[0].present
}

const runCli = promisify(execFile)
// From an empty directory, so a developer's `.env` (its DATABASE_URL above all) is never read.
const cliCwd = await mkdtemp(path.join(tmpdir(), 'spinta-migrate-'))
t.teardown(() => rm(cliCwd, { recursive: true, force: true }))
// The test runner's own loaders run the CLI too, so its coverage merges with the rest.
const cli = (args: string[], env: Record<string, string>) => runCli(process.execPath, [...process.execArgv, path.join(projectRoot, 'scripts', 'migrate.ts'), ...args], {
  cwd: cliCwd,
  env: { ...testRunnerEnv(), PATH: process.env.PATH, NODE_ENV: 'development', ...env }
})

t.test('migrations go up, down to 0 and up again', async (t) => {
  const { client } = await freshDatabase(t)
  t.same(await readSchemaVersion(client), { current: 0, latest }, 'a new database is at version 0')

  const up = await migrate(client)
  t.same(up.steps, steps('do'))
  t.match(up, { from: 0, current: latest, latest })
  t.ok(await tableExists(client, 'users'))
  t.ok(await tableExists(client, 'rate_limits'))

  const down = await migrate(client, 0)
  t.same(down.steps, steps('undo').reverse())
  t.equal(down.current, 0)
  t.notOk(await tableExists(client, 'users'), 'the undo migrations dropped the tables')
  t.notOk(await tableExists(client, 'sessions'))
  t.notOk(await tableExists(client, 'rate_limits'))

  const again = await migrate(client)
  t.equal(again.current, latest)
  t.ok(await tableExists(client, 'users'))
  t.same((await migrate(client)).steps, [], 'a run at the latest version does nothing')
})

t.test('the users table keeps one account per email whatever its case, by the key migration 4 fills in for existing rows', async (t) => {
  const { client } = await freshDatabase(t)
  await migrate(client, 3)
  const { rows } = await client.query(
    "INSERT INTO users (email, password_hash, full_name) VALUES ('Ana@Example.com', 'x', 'Ana') RETURNING id, is_active, created_at"
  )
  t.match(rows[0].id, /^[0-9a-f-]{36}$/, 'the id is a generated uuid')
  t.equal(rows[0].is_active, true)
  t.type(rows[0].created_at, Date)
  await migrate(client)
  t.same((await client.query('SELECT email, email_key FROM users')).rows, [{ email: 'Ana@Example.com', email_key: 'ana@example.com' }], 'kept as typed, keyed in lower case')
  await t.rejects(
    client.query("INSERT INTO users (email, email_key, password_hash, full_name) VALUES ('ana@example.COM', 'ana@example.com', 'x', 'Ana')"),
    { code: '23505' }
  )
})

t.test('two migration runs at once: both succeed and the schema is applied once', async (t) => {
  const { url, client } = await freshDatabase(t)
  const other = await connectedClient(t, url)
  const runs = await Promise.all([migrate(client), migrate(other)])
  t.same(runs.map((run) => run.current), [latest, latest])
  t.same(runs.flatMap((run) => run.steps).map((step) => step.version).sort((a, b) => a - b), versions, 'each migration was applied by exactly one run')
  const { rows } = await client.query('SELECT version FROM schemaversion WHERE version > 0 ORDER BY version')
  t.same(rows.map((row) => Number(row.version)), versions)
})

t.test('a failing migration changes nothing and names itself; every migration needs its undo', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'spinta-migrations-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  for (const file of ['001.do.create-users.sql', '001.undo.create-users.sql']) {
    await copyFile(path.join(migrationsDir, file), path.join(dir, file))
  }
  await writeFile(path.join(dir, '002.do.add-teams.sql'), 'CREATE TABLE teams (id int);\nSELECT 1 / 0;\n')
  await writeFile(path.join(dir, '002.undo.add-teams.sql'), 'DROP TABLE teams;\n')

  const { client } = await freshDatabase(t)
  await t.rejects(migrate(client, undefined, dir), /migration failed in 002\.do\.add-teams, nothing was changed: division by zero/)
  t.same(await readSchemaVersion(client, dir), { current: 0, latest: 2 }, 'migration 1 was rolled back with it')
  t.notOk(await tableExists(client, 'users'))
  t.notOk(await tableExists(client, 'teams'))
  await t.rejects(migrate(client, 3, dir), /cannot migrate to version 3: versions go from 0 to 2/)

  await rm(path.join(dir, '002.undo.add-teams.sql'))
  await t.rejects(migrate(client, undefined, dir), /002\.do\.add-teams has no undo file: add 002\.undo\.add-teams\.sql/)
})

t.test('outside production the server applies pending migrations at start-up', async (t) => {
  const { url, client } = await freshDatabase(t)
  await buildApp(t, testEnv({ url }, { NODE_ENV: 'development' }))
  t.same(await readSchemaVersion(client), { current: latest, latest })
})

t.test('in production the server refuses to start while the schema is behind, naming the fix', async (t) => {
  const { url, client } = await freshDatabase(t)
  const env = testEnv({ url }, { NODE_ENV: 'production', SMTP_URL: NOWHERE_SMTP_URL })
  await t.rejects(buildApp(t, env), new RegExp(`schema is at version 0 and this release needs version ${latest}: run \`npm run migrate\``))
  t.equal((await readSchemaVersion(client)).current, 0, 'production never migrates by itself')

  await migrate(client)
  const app = await buildApp(t, env)
  t.equal((await register(app, newAccount())).statusCode, 202)
})

t.test('in production a schema newer than the release (after a rollback) is logged, not refused', async (t) => {
  const { url, client } = await freshDatabase(t)
  await migrate(client)
  await client.query("INSERT INTO schemaversion (version, name) VALUES ($1, 'from-a-newer-release')", [latest + 1])
  const logs = captureLogs()
  const app = await buildApp(t, testEnv({ url }, { NODE_ENV: 'production', SMTP_URL: NOWHERE_SMTP_URL }), { logs })
  t.equal((await app.inject({ method: 'GET', url: '/api/health' })).statusCode, 200)
  const warning = logs.lines.find((line) => line.msg === 'the database schema is newer than this release')
  t.match(warning, { level: 40, schemaVersion: latest + 1, latest })
})

t.test('npm run migrate moves a DATABASE_URL to the latest version or to a given one', async (t) => {
  const { url, client } = await freshDatabase(t)
  const up = await cli([], { DATABASE_URL: url })
  t.equal(up.stdout, UP_TO_LATEST)
  t.ok(await tableExists(client, 'users'))

  const down = await cli(['0'], { DATABASE_URL: url })
  t.equal(down.stdout, `${migrations.map(({ file }) => `undid ${file.replace('.do.', '.undo.')}\n`).reverse().join('')}The schema is now at version 0 (the latest is ${latest}).\n`)
  t.notOk(await tableExists(client, 'users'))

  await t.rejects(cli(['nine'], { DATABASE_URL: url }), { code: 2, stderr: /"nine" is not a version number[\s\S]*Usage: npm run migrate/ })
  await t.rejects(cli(['7'], { DATABASE_URL: url }), { code: 1, stderr: /cannot migrate to version 7/ })
  t.match((await cli(['--help'], {})).stdout, /without it, outside production, it migrates\nthe embedded PostgreSQL/)
})

t.test('npm run migrate with a .env that exists but cannot be read exits 1 with one line naming it', async (t) => {
  const envFile = path.join(cliCwd, '.env')
  await mkdir(envFile)
  t.teardown(() => rm(envFile, { recursive: true, force: true }))
  await t.rejects(cli([], {}), { code: 1, stderr: /^migrate: cannot read \.env: EISDIR[^\n]*\n$/ })
})

t.test('npm run migrate in production needs DATABASE_URL but not SECRET_KEY', async (t) => {
  const { url, client } = await freshDatabase(t)
  const { stdout } = await cli([], { NODE_ENV: 'production', DATABASE_URL: url })
  t.equal(stdout, UP_TO_LATEST)
  t.ok(await tableExists(client, 'users'))
  await t.rejects(cli([], { NODE_ENV: 'production' }), { code: 1, stderr: /^migrate: DATABASE_URL is required when NODE_ENV=production\n$/ })
})

t.test('npm run migrate without DATABASE_URL says so and migrates the embedded database', async (t) => {
  const dir = await databaseParentDir()
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const dataDir = path.join(dir, 'data')
  const { stdout } = await cli([], { EMBEDDED_DATABASE_DIR: dataDir })
  t.equal(stdout, `DATABASE_URL is not set: migrating the embedded PostgreSQL in ${dataDir}\n` +
    UP_TO_LATEST)
  t.match((await cli([], { EMBEDDED_DATABASE_DIR: dataDir })).stdout, new RegExp(`already at version ${latest} \\(the latest\\): nothing to do`), 'the data survived')
})
