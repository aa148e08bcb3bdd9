import type { AddressInfo } from 'node:net'
import t from 'tap'
import { cspDirectives } from '../csp.js'
import { buildApp, startTestDatabase, testEnv } from '../helper.js'
import { problemIssues } from '../problem.js'
import { rawRequest } from '../raw-http.js'

// helmet's headers that govern how a browser treats a document it renders: pages only.
const documentOnlyHeaders = ['referrer-policy', 'cross-origin-opener-policy', 'cross-origin-resource-policy', 'origin-agent-cluster', 'x-dns-prefetch-control', 'x-download-options', 'x-permitted-cross-domain-policies', 'x-xss-protection']

const database = await startTestDatabase(t)
const app = await buildApp(t, testEnv(database), {
  extend (fastify) {
    fastify.get('/fails', async () => { throw new Error('the handler failed') })
    fastify.get('/teams/:name', async () => 'found')
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

t.test('every error answer over real HTTP, whichever stage refuses it, carries the API\'s security headers', async (t) => {
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  const json = (path: string, body: string, headers = '') =>
    `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${headers}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  const errors = [
    { what: 'a malformed percent-encoding, refused before routing', request: 'GET /% HTTP/1.1\r\nHost: x\r\n\r\n', status: 400 },
    { what: 'a path parameter over the router\'s limit', request: `GET /teams/${'x'.repeat(101)} HTTP/1.1\r\nHost: x\r\n\r\n`, status: 414 },
    { what: 'a header Node\'s parser refuses', request: 'GET / HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n', status: 400 },
    { what: 'headers over 16 KiB', request: `GET / HTTP/1.1\r\nHost: x\r\nX-Padding: ${'p'.repeat(17_000)}\r\n\r\n`, status: 431 },
    { what: 'HTTP/1.1 without Host', request: 'GET / HTTP/1.1\r\n\r\n', status: 400 },
    { what: 'a body over the limit', request: json('/api/auth/register', JSON.stringify({ email: 'a@b.example', password: 'x'.repeat(1_048_576) })), status: 413 },
    { what: 'an unsupported media type', request: 'POST /api/auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\nContent-Length: 4\r\n\r\n<a/>', status: 415 },
    { what: 'malformed JSON', request: json('/api/auth/register', '{"email":'), status: 400 },
    { what: 'an unknown path', request: 'GET /no/such/route HTTP/1.1\r\nHost: x\r\n\r\n', status: 404 },
    { what: 'a method the path does not take', request: 'DELETE /api/health HTTP/1.1\r\nHost: x\r\n\r\n', status: 405 },
    { what: 'a handler that fails', request: 'GET /fails HTTP/1.1\r\nHost: x\r\n\r\n', status: 500 }
  ]
  for (const { what, request, status } of errors) {
    const response = await rawRequest(port, request)
    t.equal(response.statusCode, status, what)
    t.same(problemIssues(response), [], `${what}: a problem`)
    t.same(cspDirectives(response.headers['content-security-policy']), {
      'default-src': ["'none'"],
      'base-uri': ["'none'"],
      'form-action': ["'none'"],
      'frame-ancestors': ["'none'"]
    }, `${what}: Content-Security-Policy`)
    t.match(response.headers, {
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'strict-transport-security': /^max-age=\d+; includeSubDomains$/,
      'cache-control': 'no-store'
    }, `${what}: OWASP's REST set, never stored`)
  }
})
