import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { NOWHERE_SMTP_URL, startTestDatabase } from '../helper.js'
import { bearer, newAccount, signedInOverHttp } from '../accounts.js'
import { productionBuild } from '../production-build.js'
import { spawnServer } from '../spawn-server.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const run = promisify(execFile)

// The other tests run the sources through the test runner's TypeScript loader; production runs
// the esbuild bundle (scripts/build.ts). This one checks the bundle: every kind of route, the
// files it reads at run time (migrations, Swagger UI's and ReDoc's assets) and a clean shutdown.
// test/integration/release.test.ts installs the same build as an operator would.
t.test('the production build runs the whole API on plain node, as `npm start` does', async (t) => {
  const outdir = path.join(await productionBuild(), 'dist')
  const noCoverage = { PATH: process.env.PATH, _TAPJS_PROCESSINFO_COVERAGE_: '0' }

  const database = await startTestDatabase(t)
  const migrated = await run(process.execPath, [path.join(outdir, 'scripts', 'migrate.js')], { env: { ...noCoverage, DATABASE_URL: database.url } })
  t.match(migrated.stdout, /now at version \d+ \(the latest\)/)

  // node's options from the start script, the entry point from this build.
  const { scripts } = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { scripts: { start: string } }
  const [exec, command, ...startArgs] = scripts.start.split(/\s+/)
  t.same([exec, command], ['exec', 'node'])
  t.equal(startArgs.at(-1), 'dist/src/server.js')
  const nodeArgs = [...startArgs.slice(0, -1), path.join(outdir, 'src', 'server.js')]
  const productionEnv = {
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    DATABASE_URL: database.url,
    SECRET_KEY: 'build-test-secret-key-0123456789abcdef01234567',
    SMTP_URL: NOWHERE_SMTP_URL
  }
  const server = await spawnServer(t, productionEnv, { nodeArgs })
  const base = await server.listening

  const root200 = await fetch(`${base}/`)
  t.equal(root200.status, 200)
  t.same(await root200.json(), { message: 'Welcome to Spinta Backend API', docs: '/docs', redoc: '/redoc' })
  t.same(await (await fetch(`${base}/api/health`)).json(), { status: 'healthy', database: 'connected' })
  t.equal((await fetch(`${base}/api/health/ready`)).status, 200)

  const notFound = await fetch(`${base}/no/such/page`)
  t.equal(notFound.status, 404)
  t.equal(notFound.headers.get('content-type'), 'application/problem+json; charset=utf-8')

  const committed = JSON.parse(await readFile(path.join(root, 'openapi.json'), 'utf8'))
  t.same(await (await fetch(`${base}/openapi.json`)).json(), committed, 'the built server documents the same API')

  const docs = await fetch(`${base}/docs`, { redirect: 'follow' })
  t.equal(docs.status, 200)
  t.match(await docs.text(), 'swagger-ui-bundle.js')
  const swaggerUiStatic = path.join(root, 'node_modules', '@fastify', 'swagger-ui', 'static')
  const bundle = await fetch(`${base}/docs/static/swagger-ui-bundle.js`)
  t.equal(bundle.status, 200)
  t.equal((await bundle.text()).length, (await readFile(path.join(swaggerUiStatic, 'swagger-ui-bundle.js'), 'utf8')).length, 'Swagger UI assets from its package')
  t.match(await (await fetch(`${base}/docs/static/swagger-initializer.js`)).text(), 'data:image/svg+xml;base64,', 'with its logo')

  t.equal((await fetch(`${base}/redoc`)).status, 200)
  const redoc = await fetch(`${base}/redoc/redoc.standalone.js`)
  const vendored = await readFile(path.join(root, 'vendor', 'redoc', 'redoc.standalone.js'))
  t.equal(redoc.status, 200)
  t.equal(redoc.headers.get('content-length'), String(vendored.length))
  t.ok(Buffer.from(await redoc.arrayBuffer()).equals(vendored), 'the vendored ReDoc bundle, byte for byte')

  const account = await signedInOverHttp(base, newAccount('build'))
  const me = await fetch(`${base}/api/users/me`, { headers: bearer(account.access_token) })
  t.equal(me.status, 200)
  t.match(await me.json(), { email: account.email, full_name: account.full_name })

  server.child.kill('SIGTERM')
  t.same(await server.exited, { code: 0, signal: null }, 'stopped cleanly')
  t.notMatch(server.stderr(), /stale plugin/)

  // npm runs the start script with `sh -c`, and passes a SIGTERM it gets to that shell: the shell
  // must have handed its process to node (exec), or it would die and leave the server running.
  // Debian's sh (dash) does not do that by itself for a lone command; bash would.
  const viaNpmShell = await spawnServer(t, {
    DATABASE_URL: database.url,
    PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH}`
  }, { shellCommand: scripts.start.replace('dist/src/server.js', `'${path.join(outdir, 'src', 'server.js')}'`) })
  await viaNpmShell.listening
  viaNpmShell.child.kill('SIGTERM')
  t.same(await viaNpmShell.exited, { code: 0, signal: null }, 'a SIGTERM to the start script\'s shell stops the server cleanly')

  // The bundle keeps .env loaded before the logger is made, as the sources do.
  const refused = await spawnServer(t, {}, { nodeArgs, envFile: `DATABASE_URL=${database.url}\nLOG_LEVEL=verbose\n` })
  const listened = await refused.listening.then(() => true, () => false)
  t.notOk(listened, 'LOG_LEVEL from .env is read')
  if (listened) refused.child.kill()
  t.equal((await refused.exited).code, 1)
  t.match(refused.stderr(), 'spinta-backend failed to start: LOG_LEVEL must')
})
