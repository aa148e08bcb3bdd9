import t from 'tap'
import { cspDirectives } from '../csp.js'
import { buildApp, startTestDatabase, testEnv } from '../helper.js'

// helmet's headers that govern how a browser treats a document it renders: pages only.
const documentOnlyHeaders = ['referrer-policy', 'cross-origin-opener-policy', 'cross-origin-resource-policy', 'origin-agent-cluster', 'x-dns-prefetch-control', 'x-download-options', 'x-permitted-cross-domain-policies', 'x-xss-protection']

const database = await startTestDatabase(t)
const app = await buildApp(t, testEnv(database), {
  extend (fastify) {
    fastify.get('/fails', async () => { throw new Error('the handler failed') })
  }
})

t.test('every API response, errors included, carries the REST security headers and a policy that allows nothing', async (t) => {
  const requests = [
    { method: 'GET', url: '/', status: 200 },
    { method: 'GET', url: '/api/health', status: 200 },
    { method: 'GET', url: '/openapi.json', status: 200 },
    { method: 'GET', url: '/redoc/redoc.standalone.js', status: 200 },
    { method: 'GET', url: '/no/such/route', status: 404 },
    { method: 'GET', url: '/fails', status: 500 }
  ] as const
  for (const { status, ...request } of requests) {
    const response = await app.inject(request)
    const name = `${request.method} ${request.url}`
    t.equal(response.statusCode, status, name)
    t.same(cspDirectives(response.headers['content-security-policy']), {
      'default-src': ["'none'"],
      'base-uri': ["'none'"],
      'form-action': ["'none'"],
      'frame-ancestors': ["'none'"]
    }, `${name}: Content-Security-Policy`)
    t.match(response.headers, {
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'strict-transport-security': /^max-age=\d+; includeSubDomains$/
    }, `${name}: OWASP's REST set`)
    for (const header of documentOnlyHeaders) t.notOk(response.headers[header], `${name}: no ${header}, which only a rendered document reads`)
    t.notOk(response.headers['x-powered-by'], `${name}: no X-Powered-By`)
  }
  for (const url of ['/', '/api/health', '/no/such/route', '/fails']) {
    t.equal((await app.inject({ url })).headers['cache-control'], 'no-store', `GET ${url}: never stored by a cache`)
  }
})

t.test('the documentation pages carry helmet\'s full set of headers', async (t) => {
  for (const url of ['/docs/', '/redoc']) {
    const response = await app.inject({ url })
    t.equal(response.statusCode, 200, url)
    t.match(response.headers, {
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'strict-transport-security': /^max-age=\d+; includeSubDomains$/,
      'referrer-policy': 'no-referrer',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-resource-policy': 'same-origin',
      'x-dns-prefetch-control': 'off',
      'x-permitted-cross-domain-policies': 'none'
    }, `${url}: helmet's headers`)
    t.match(response.headers['content-security-policy'], /script-src 'self'/, `${url}: its own policy, which lets its scripts run`)
  }
})

t.test('the security headers do not get in the way of CORS', async (t) => {
  const response = await app.inject({ method: 'GET', url: '/api/health', headers: { origin: 'http://localhost:3000' } })
  t.equal(response.statusCode, 200)
  t.equal(response.headers['access-control-allow-origin'], 'http://localhost:3000')
  t.equal(response.headers['access-control-allow-credentials'], 'true')
})
