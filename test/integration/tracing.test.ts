import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { startTestDatabase } from '../helper.js'
import { newAccount, signedInOverHttp } from '../accounts.js'
import { startOtlpReceiver, type ReceivedSpan } from '../otlp-receiver.js'
import { spawnServer, type SpawnedServer } from '../spawn-server.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const SERVER = 2
const CLIENT = 3

// The built server, as `npm start` runs it: pg must be patched though the app is an esbuild bundle.
await mkdir(path.join(root, '.artifacts'), { recursive: true })
const outdir = await mkdtemp(path.join(root, '.artifacts', 'tracing-test-'))
t.teardown(() => rm(outdir, { recursive: true, force: true }))
await promisify(execFile)(path.join(root, 'node_modules', '.bin', 'tsx'), ['scripts/build.ts', '--outdir', outdir], {
  cwd: root,
  env: { PATH: process.env.PATH, _TAPJS_PROCESSINFO_COVERAGE_: '0' }
})
const built = { nodeArgs: [path.join(outdir, 'src', 'server.js')] }

const database = await startTestDatabase(t)
const secretKey = 'a-tracing-test-signing-key-0123456789abcdef'
const serverEnv = { DATABASE_URL: database.url, SECRET_KEY: secretKey }

/** The first log line on the server's stdout that `matches`, once it is written. */
function logLine (server: SpawnedServer, matches: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const check = () => {
      const line = server.stdout().split('\n').filter((text) => text.startsWith('{')).map((text) => JSON.parse(text)).find(matches)
      if (line === undefined) return
      server.child.stdout?.off('data', check)
      resolve(line)
    }
    server.child.stdout?.on('data', check)
    check()
  })
}

function isDescendant (span: ReceivedSpan, ancestor: ReceivedSpan, spans: ReceivedSpan[]): boolean {
  for (let parent = span.parentSpanId; parent; parent = spans.find((other) => other.spanId === parent)?.parentSpanId) {
    if (parent === ancestor.spanId) return true
  }
  return false
}

function serverSpan (spans: ReceivedSpan[], name: string, traceId?: string): ReceivedSpan | undefined {
  return spans.find((span) => span.kind === SERVER && span.name === name && (traceId === undefined || span.traceId === traceId))
}

t.test('the built server continues an incoming trace: a server span with its route, its SQL as client spans without values, log lines with the ids, nothing secret', async (t) => {
  const receiver = await startOtlpReceiver(t)
  const server = await spawnServer(t, { ...serverEnv, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '20' }, built)
  const base = await server.listening

  const account = await signedInOverHttp(base, newAccount('traced'))
  const { id: userId, ...tokens } = account

  const traceId = randomBytes(16).toString('hex')
  const parentSpanId = randomBytes(8).toString('hex')
  const querySecret = 'query-secret-0123456789'
  const cookieSecret = 'cookie-secret-0123456789'
  const me = await fetch(`${base}/api/users/me?api_key=${querySecret}`, {
    headers: { traceparent: `00-${traceId}-${parentSpanId}-01`, authorization: `Bearer ${tokens.access_token}`, cookie: `session=${cookieSecret}` }
  })
  t.equal(me.status, 200)
  t.equal((await fetch(`${base}/no/such/page?api_key=${querySecret}`)).status, 404)
  // Refused bodies: the errors recorded on their spans must not quote what was sent.
  const malformed = await fetch(`${base}/api/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"email":"x@example.com","password":${account.password}}` })
  t.equal(malformed.status, 400)
  const invalid = await fetch(`${base}/api/auth/token`, { method: 'POST', body: new URLSearchParams({ username: account.email, password: account.password, grant_type: account.password }) })
  t.equal(invalid.status, 400)

  const lookup = (span: ReceivedSpan) => span.kind === CLIENT && span.traceId === traceId && /FROM users WHERE id = \$1/.test(String(span.attributes['db.query.text']))
  const handler = (span: ReceivedSpan) => span.traceId === traceId && span.name === 'handler /api/users/me'
  await receiver.waitFor((spans) => serverSpan(spans, 'GET /api/users/me', traceId) !== undefined && spans.some(lookup) && spans.some(handler) &&
    serverSpan(spans, 'GET') !== undefined &&
    spans.filter((span) => span.kind === SERVER && /^POST \/api\/auth\/(register|token)$/.test(span.name)).length === 4)
  const request = serverSpan(receiver.spans, 'GET /api/users/me', traceId) as ReceivedSpan
  t.equal(request.parentSpanId, parentSpanId, 'a child of the caller\'s span')
  t.match(request.attributes, { 'http.route': '/api/users/me', 'http.request.method': 'GET', 'http.response.status_code': 200, 'url.path': '/api/users/me' })
  t.match(request.resource, { 'service.name': 'spinta-backend' }, 'the service is named after the app')
  t.equal(receiver.spans.find(handler)?.parentSpanId, request.spanId, 'the handler\'s span, named after its route')
  const statement = receiver.spans.find(lookup) as ReceivedSpan
  t.ok(isDescendant(statement, request, receiver.spans), 'the SQL span belongs to the request')
  t.match(statement.attributes, { 'db.system.name': 'postgresql' })
  t.notOk(JSON.stringify(statement).includes(userId), 'the statement\'s parameters are not recorded')

  t.match(serverSpan(receiver.spans, 'GET')?.attributes, { 'url.path': '/no/such/page', 'http.response.status_code': 404 }, 'a URL no route matches: the method alone names the span')
  t.notOk(serverSpan(receiver.spans, 'GET')?.attributes['http.route'])

  const insert = receiver.spans.find((span) => span.kind === CLIENT && /^INSERT INTO users/.test(String(span.attributes['db.query.text'])))
  t.ok(insert, 'the registration\'s INSERT is traced')

  const exported = receiver.bodies.join('\n')
  const secrets = {
    password: account.password,
    email: account.email,
    'access token': tokens.access_token,
    'refresh token': tokens.refresh_token,
    DATABASE_URL: database.url,
    'database password': decodeURIComponent(new URL(database.url).password),
    SECRET_KEY: secretKey,
    'query string': querySecret,
    cookie: cookieSecret
  }
  for (const [name, secret] of Object.entries(secrets)) t.notOk(exported.includes(secret), `no ${name} in any span`)
  t.notMatch(exported, /authorization|cookie/i, 'no request header')

  const accessLine = await logLine(server, (line) => line.msg === 'request completed' && line.trace_id === traceId)
  t.match(accessLine, { trace_id: traceId, span_id: request.spanId, requestId: String, url: '/api/users/me?api_key=' + querySecret })

  server.child.kill('SIGTERM')
  t.same(await server.exited, { code: 0, signal: null })
})

t.test('spans still queued are sent as the server stops; OTEL_SERVICE_NAME names the service (from the sources, as npm run dev runs them)', async (t) => {
  const receiver = await startOtlpReceiver(t)
  const server = await spawnServer(t, { ...serverEnv, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`, OTEL_BSP_SCHEDULE_DELAY: '600000', OTEL_SERVICE_NAME: 'spinta-api' })
  const base = await server.listening
  t.equal((await fetch(`${base}/api/health`)).status, 200)
  server.child.kill('SIGTERM')
  t.same(await server.exited, { code: 0, signal: null })
  const request = serverSpan(receiver.spans, 'GET /api/health')
  t.match(request?.resource, { 'service.name': 'spinta-api' })
  t.ok(receiver.spans.some((span) => span.kind === CLIENT && span.traceId === request?.traceId && span.attributes['db.query.text'] === 'SELECT 1'))
})

t.test('a collector that never answers does not hold up shutdown', async (t) => {
  const receiver = await startOtlpReceiver(t, { answer: false })
  // Past the grace period close-with-grace exits 1; the exporter alone would wait 10 s.
  const server = await spawnServer(t, { ...serverEnv, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '600000', SHUTDOWN_GRACE_MS: '8000' }, built)
  const base = await server.listening
  t.equal((await fetch(`${base}/`)).status, 200)
  server.child.kill('SIGTERM')
  t.same(await server.exited, { code: 0, signal: null })
  t.ok(receiver.bodies.length > 0, 'the export was attempted')
})

t.test('an endpoint that is not an http(s) URL stops start-up with a line naming it', async (t) => {
  const server = await spawnServer(t, { ...serverEnv, OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })
  t.equal((await server.exited).code, 1)
  t.match(server.stderr(), 'spinta-backend failed to start: OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// or https:// URL')
})

t.test('without an endpoint, or with OTEL_SDK_DISABLED=true, the SDK is never loaded and nothing is exported', async (t) => {
  // The SDK is a chunk of its own, imported only when tracing is on: without it, a server that
  // loaded it could not start.
  const sdkChunks = (await readdir(path.join(outdir, 'chunks'))).filter((file) => /^sdk-\w+\.js$/.test(file))
  t.equal(sdkChunks.length, 1)
  await rm(path.join(outdir, 'chunks', sdkChunks[0]))

  const receiver = await startOtlpReceiver(t)
  for (const env of [{}, { OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }]) {
    const server = await spawnServer(t, { ...serverEnv, ...env }, built)
    const base = await server.listening
    t.equal((await fetch(`${base}/`)).status, 200)
    const accessLine = await logLine(server, (line) => line.msg === 'request completed')
    t.notOk('trace_id' in accessLine, 'no trace ids in the log')
    server.child.kill('SIGTERM')
    t.same(await server.exited, { code: 0, signal: null })
  }
  t.equal(receiver.bodies.length, 0, 'nothing was sent')

  const tracing = await spawnServer(t, { ...serverEnv, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }, built)
  t.equal((await tracing.exited).code, 1, 'with tracing on, the missing chunk is missed')
  t.match(tracing.stderr(), sdkChunks[0])
})
