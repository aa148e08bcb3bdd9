import { once } from 'node:events'
import t from 'tap'
import { Type } from '@sinclair/typebox'
import { buildApp, captureLogs, startTestDatabase, testEnv } from '../helper.js'
import { packageVersion } from '../../src/project.js'
import { startTcpProxy } from '../tcp-proxy.js'

const database = await startTestDatabase(t)

t.test('GET / welcomes and points at both documentation pages', async (t) => {
  const app = await buildApp(t, testEnv(database))
  const response = await app.inject({ method: 'GET', url: '/' })
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^application\/json/)
  t.same(response.json(), { message: 'Welcome to Spinta Backend API', docs: '/docs', redoc: '/redoc' })
})

t.test('GET /api/health runs SELECT 1 and reports the database connected', async (t) => {
  const app = await buildApp(t, testEnv(database))
  const response = await app.inject({ method: 'GET', url: '/api/health' })
  t.equal(response.statusCode, 200)
  t.same(response.json(), { status: 'healthy', database: 'connected' })
})

t.test('GET /api/health keeps answering with more requests in flight than the pool has connections', async (t) => {
  const app = await buildApp(t, testEnv(database, { DATABASE_POOL_MAX: '2' }))
  const responses = await Promise.all(Array.from({ length: 200 }, () => app.inject({ method: 'GET', url: '/api/health' })))
  t.same(new Set(responses.map((response) => `${response.statusCode} ${response.json().database}`)), new Set(['200 connected']))
})

t.test('the OpenAPI document describes the app from config and package.json', async (t) => {
  const app = await buildApp(t, testEnv(database, { APP_NAME: 'Spinta Staging' }))
  const response = await app.inject({ method: 'GET', url: '/openapi.json' })
  t.equal(response.statusCode, 200)
  const document = response.json()
  t.match(document.openapi, /^3\./)
  t.same(document.info, {
    title: 'Spinta Staging',
    description: 'Youth soccer analytics platform API',
    version: packageVersion,
    license: { name: 'Proprietary: for Spinta and its authorised clients only', url: 'https://spinta.example/terms' },
    contact: { name: 'Spinta API team', email: 'api@spinta.example' }
  })
  t.same(document.servers.map((server: { url: string }) => server.url), ['/'], 'one relative server: the host the document came from')
  t.same(document.paths['/'].get.tags, ['Root'])
  t.same(document.paths['/api/health'].get.tags, ['Health'])
  t.same(document.paths['/api/health'].get.responses['200'].content['application/json'].schema.required, ['status', 'database'])
})

t.test('/docs serves Swagger UI and /redoc serves ReDoc, both from this server', async (t) => {
  const app = await buildApp(t, testEnv(database))
  const docs = await app.inject({ method: 'GET', url: '/docs' })
  const swaggerPage = docs.statusCode === 302 ? await app.inject({ method: 'GET', url: docs.headers.location as string }) : docs
  t.equal(swaggerPage.statusCode, 200)
  t.match(swaggerPage.body, /swagger-ui/)
  t.notMatch(swaggerPage.body, /https?:\/\//, 'no absolute asset address in the Swagger UI page')

  const redoc = await app.inject({ method: 'GET', url: '/redoc' })
  t.equal(redoc.statusCode, 200)
  t.match(redoc.headers['content-type'], /^text\/html/)
  t.match(redoc.body, /<redoc spec-url="\/openapi.json">/)
  t.match(redoc.body, /<script src="\/redoc\/redoc.standalone.js">/)
  t.notMatch(redoc.body, /https?:\/\//, 'no CDN address in the ReDoc page')

  const bundle = await app.inject({ method: 'GET', url: '/redoc/redoc.standalone.js' })
  t.equal(bundle.statusCode, 200)
  t.match(bundle.headers['content-type'], /javascript/)
  t.ok(bundle.rawPayload.length > 500_000, 'the ReDoc bundle is served whole')
})

t.test('CORS: allowed origins are echoed with credentials, others get nothing', async (t) => {
  const app = await buildApp(t, testEnv(database, { CORS_ORIGINS: ' http://localhost:3000 , https://app.spinta.example ' }))

  const allowed = await app.inject({ method: 'GET', url: '/api/health', headers: { origin: 'https://app.spinta.example' } })
  t.equal(allowed.headers['access-control-allow-origin'], 'https://app.spinta.example')
  t.equal(allowed.headers['access-control-allow-credentials'], 'true')
  t.match(allowed.headers.vary, /Origin/)

  const denied = await app.inject({ method: 'GET', url: '/api/health', headers: { origin: 'https://evil.example' } })
  t.equal(denied.statusCode, 200, 'the request itself is served: browsers enforce CORS')
  t.notOk(denied.headers['access-control-allow-origin'])

  const preflight = await app.inject({
    method: 'OPTIONS',
    url: '/api/health',
    headers: {
      origin: 'http://localhost:3000',
      'access-control-request-method': 'DELETE',
      'access-control-request-headers': 'X-Custom-Header, Authorization'
    }
  })
  t.equal(preflight.statusCode, 204)
  t.equal(preflight.headers['access-control-allow-origin'], 'http://localhost:3000')
  t.equal(preflight.headers['access-control-allow-credentials'], 'true')
  t.match(preflight.headers['access-control-allow-methods'], /DELETE/)
  t.match(preflight.headers['access-control-allow-headers'], /X-Custom-Header, Authorization/)
  t.equal(preflight.headers['x-content-type-options'], 'nosniff', 'preflights carry the security headers too')

  const deniedPreflight = await app.inject({
    method: 'OPTIONS',
    url: '/api/health',
    headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' }
  })
  t.notOk(deniedPreflight.headers['access-control-allow-origin'])
})

t.test('a response that breaks its schema is refused, not sent', async (t) => {
  const app = await buildApp(t, testEnv(database), {
    extend (fastify) {
      fastify.get('/broken', {
        schema: { response: { 200: Type.Object({ status: Type.String(), count: Type.Integer() }) } }
      }, async () => ({ count: 'many' }))
    }
  })
  const response = await app.inject({ method: 'GET', url: '/broken' })
  t.equal(response.statusCode, 500)
  t.notMatch(response.body, /many/)
})

t.test('a handler that throws inside a transaction still gives its client back', async (t) => {
  const app = await buildApp(t, testEnv(database, { DATABASE_POOL_MAX: '3' }), {
    extend (fastify) {
      fastify.get('/fails-midway', async () => fastify.pg.transact(async (client) => {
        await client.query('SELECT 1')
        throw new Error('the handler failed after using the database')
      }))
      fastify.get('/request-client', { pg: { transact: true } }, async (request) => {
        await request.pg?.query('SELECT 1')
        throw new Error('the handler failed while holding a request-scoped client')
      })
    }
  })
  let checkedOut = 0
  app.pg.pool.on('acquire', () => { checkedOut++ })
  app.pg.pool.on('release', () => { checkedOut-- })
  // Ten rounds of two failing requests each: a leak would exhaust the pool of three.
  for (let i = 0; i < 10; i++) {
    t.equal((await app.inject({ method: 'GET', url: '/fails-midway' })).statusCode, 500)
    t.equal((await app.inject({ method: 'GET', url: '/request-client' })).statusCode, 500)
  }
  // pg.transact answers before its ROLLBACK has finished; the client comes back right after.
  const stillCheckedOut = () => checkedOut > 0
  while (stillCheckedOut()) await once(app.pg.pool, 'release')
  t.equal(app.pg.pool.waitingCount, 0)
  t.equal(app.pg.pool.idleCount, app.pg.pool.totalCount, 'every client is back in the pool')
  t.same((await app.inject({ method: 'GET', url: '/api/health' })).json(), { status: 'healthy', database: 'connected' })
})

t.test('postgres:// and postgresql:// URLs both work; sslmode=require never falls back to plain TCP', async (t) => {
  const shortScheme = await buildApp(t, testEnv({ url: database.url.replace(/^postgresql:/, 'postgres:') }))
  t.same((await shortScheme.inject({ method: 'GET', url: '/api/health' })).json(), { status: 'healthy', database: 'connected' })

  // The test cluster has no TLS: a URL that requires it must refuse to connect rather than go plaintext.
  const proxy = await startTcpProxy(database.socketPath)
  t.teardown(() => proxy.close())
  const requiresTls = new URL(proxy.url(database.url))
  requiresTls.searchParams.set('sslmode', 'require')
  await t.rejects(buildApp(t, testEnv({ url: requiresTls.href })), /SSL/)
})

t.test('DEBUG=true logs each SQL statement with its duration, never its parameter values', async (t) => {
  const logs = captureLogs()
  const app = await buildApp(t, testEnv(database, { DEBUG: 'true' }), { logs })
  await app.pg.query('SELECT $1::text AS secret', ['parameter-value-never-logged'])
  const statements = logs.lines.filter((line) => line.msg === 'sql')
  t.ok(statements.some((line) => line.sql === 'SELECT $1::text AS secret' && typeof line.durationMs === 'number'))
  t.notMatch(logs.text(), /parameter-value-never-logged/)

  const quiet = captureLogs()
  const quietApp = await buildApp(t, testEnv(database), { logs: quiet })
  await quietApp.pg.query('SELECT 1')
  t.notOk(quiet.lines.some((line) => line.msg === 'sql'), 'DEBUG=false logs no statements')
})
