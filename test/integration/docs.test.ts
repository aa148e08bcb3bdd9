import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { cspDirectives } from '../csp.js'
import { buildApp, startTestDatabase, testEnv } from '../helper.js'
import { projectRoot } from '../../src/project.js'

const database = await startTestDatabase(t)
const app = await buildApp(t, testEnv(database))

const pagePolicy = {
  'default-src': ["'none'"],
  'script-src': ["'self'"],
  'style-src': ["'self'", "'unsafe-inline'"],
  'img-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  'base-uri': ["'none'"],
  'form-action': ["'none'"],
  'frame-ancestors': ["'none'"]
}

t.test('the ReDoc bundle served at /redoc is the vendored release, byte for byte', async (t) => {
  const record = await readFile(path.join(projectRoot, 'vendor', 'redoc', 'VERSION.md'), 'utf8')
  const recorded = /^- sha256: ([0-9a-f]{64})$/m.exec(record)?.[1]
  t.ok(recorded, 'vendor/redoc/VERSION.md records a sha256')
  const bundle = await app.inject({ method: 'GET', url: '/redoc/redoc.standalone.js' })
  t.equal(bundle.statusCode, 200)
  t.equal(createHash('sha256').update(bundle.rawPayload).digest('hex'), recorded,
    'the served bundle matches VERSION.md (refresh both with: bash scripts/vendor-redoc.sh [version])')
})

t.test('Swagger UI, its assets and its copy of the document carry the docs policy', async (t) => {
  for (const url of ['/docs', '/docs/', '/docs/static/swagger-ui-bundle.js', '/docs/static/swagger-ui.css', '/docs/json']) {
    const response = await app.inject({ method: 'GET', url })
    t.equal(response.statusCode, 200, url)
    t.same(cspDirectives(response.headers['content-security-policy']), pagePolicy, `${url}: only this server, inline styles and data: images`)
  }
})

t.test('Swagger UI reads the same document as ReDoc and /openapi.json', async (t) => {
  const [swaggerUiCopy, document] = await Promise.all(['/docs/json', '/openapi.json'].map((url) => app.inject({ method: 'GET', url })))
  t.equal(swaggerUiCopy.statusCode, 200)
  t.same(swaggerUiCopy.json(), document.json())
  t.match(document.json(), { openapi: '3.1.0', paths: { '/api/health': {} } })
})

t.test('/redoc carries the docs policy plus blob: workers for its search', async (t) => {
  const response = await app.inject({ method: 'GET', url: '/redoc' })
  t.equal(response.statusCode, 200)
  t.same(cspDirectives(response.headers['content-security-policy']), { ...pagePolicy, 'worker-src': ['blob:'] })
})

t.test('the ReDoc bundle has an ETag and Last-Modified, and a repeat request gets 304', async (t) => {
  const first = await app.inject({ method: 'GET', url: '/redoc/redoc.standalone.js' })
  t.match(first.headers['content-type'], /^application\/javascript/)
  t.equal(first.headers['cache-control'], 'public, max-age=86400')
  t.ok(first.headers.etag, 'an ETag')
  t.ok(first.headers['last-modified'], 'a Last-Modified')
  const again = await app.inject({ method: 'GET', url: '/redoc/redoc.standalone.js', headers: { 'if-none-match': String(first.headers.etag) } })
  t.equal(again.statusCode, 304)
  t.equal(again.rawPayload.length, 0, 'without the bundle')
  for (const url of ['/redoc/VERSION.md', '/redoc/LICENSE']) {
    t.equal((await app.inject({ method: 'GET', url })).statusCode, 404, `${url}: only the bundle is served`)
  }
})
