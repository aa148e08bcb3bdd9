import t from 'tap'
import { cspDirectives } from '../csp.js'
import { buildApp, startTestDatabase, testEnv } from '../helper.js'

const database = await startTestDatabase(t)
const app = await buildApp(t, testEnv(database), {
  extend (fastify) {
    fastify.get('/fails', async () => { throw new Error('the handler failed') })
  }
})

t.test('every API response, errors included, carries the security headers and a policy that allows nothing', async (t) => {
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
      'strict-transport-security': /^max-age=\d+; includeSubDomains$/,
      'referrer-policy': 'no-referrer',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-resource-policy': 'same-origin',
      'x-dns-prefetch-control': 'off',
      'x-permitted-cross-domain-policies': 'none'
    }, `${name}: helmet's headers`)
    t.notOk(response.headers['x-powered-by'], `${name}: no X-Powered-By`)
  }
})

t.test('the security headers do not get in the way of CORS', async (t) => {
  const response = await app.inject({ method: 'GET', url: '/api/health', headers: { origin: 'http://localhost:3000' } })
  t.equal(response.statusCode, 200)
  t.equal(response.headers['access-control-allow-origin'], 'http://localhost:3000')
  t.equal(response.headers['access-control-allow-credentials'], 'true')
})
