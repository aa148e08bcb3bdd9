import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { Type } from '@sinclair/typebox'
import { buildApp, captureLogs, startTestDatabase, testEnv, type BuildOptions, type Env } from '../helper.js'
import { problemIssues } from '../problem.js'

const database = await startTestDatabase(t)

/** The app as production builds it, with the routes of a test. */
function appWith (t: Test, { env = {}, routes, ...options }: Omit<BuildOptions, 'extend'> & { env?: Env, routes?: BuildOptions['extend'] } = {}): Promise<FastifyInstance> {
  return buildApp(t, testEnv(database, env), { ...options, extend: routes })
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

const Signup = Type.Object({
  email: Type.String({ format: 'email' }),
  name: Type.String({ minLength: 1 }),
  age: Type.Optional(Type.Integer({ minimum: 0 }))
})

function echoRoute (fastify: FastifyInstance): void {
  fastify.post('/signup', { schema: { body: Signup, querystring: Type.Object({ page: Type.Optional(Type.Integer({ minimum: 1 })) }) } }, async (request) => request.body)
}

t.test('an unknown route is a 404 problem naming the method and path, without the query string', async (t) => {
  const app = await appWith(t)
  const response = await app.inject({ method: 'GET', url: '/api/nowhere?token=abc' })
  t.equal(response.statusCode, 404)
  t.same(problemIssues(response, '/api/nowhere'), [])
  t.equal(response.json().detail, 'There is no GET /api/nowhere in this API')

  const head = await app.inject({ method: 'HEAD', url: '/api/nowhere' })
  t.equal(head.statusCode, 404)
  t.match(head.headers['content-type'], /^application\/problem\+json/)
})

t.test('malformed JSON is a 400 problem that does not echo the body', async (t) => {
  const app = await appWith(t, { routes: echoRoute })
  for (const payload of ['{"email": "a@b.example",', '{"__proto__": {"admin": true}}', 'not json at all']) {
    const response = await app.inject({ method: 'POST', url: '/signup', headers: { 'content-type': 'application/json' }, payload })
    t.equal(response.statusCode, 400, payload)
    t.same(problemIssues(response, '/signup'), [])
    t.equal(response.json().detail, 'The request body is not valid JSON')
  }
  const empty = await app.inject({ method: 'POST', url: '/signup', headers: { 'content-type': 'application/json' }, payload: '' })
  t.equal(empty.statusCode, 400)
  t.equal(empty.json().detail, 'The request body is empty, but its Content-Type says JSON')
})

t.test('an unsupported content type is a 415 problem naming it', async (t) => {
  const app = await appWith(t, { routes: echoRoute })
  const xml = await app.inject({ method: 'POST', url: '/signup', headers: { 'content-type': 'application/xml; charset=utf-8' }, payload: '<a/>' })
  t.equal(xml.statusCode, 415)
  t.same(problemIssues(xml, '/signup'), [])
  t.equal(xml.json().detail, 'This endpoint does not accept Content-Type "application/xml"')

  const untyped = await app.inject({ method: 'POST', url: '/signup', payload: Buffer.from('{"email":"a@b.example"}') })
  t.equal(untyped.statusCode, 415)
  t.equal(untyped.json().detail, 'The request has a body but no Content-Type')
})

t.test('a body over the limit is a 413 problem: 1 MiB by default', async (t) => {
  const app = await appWith(t, { routes: echoRoute })
  const json = (bytes: number) => JSON.stringify({ email: 'a@b.example', name: 'x'.repeat(bytes - 33) })
  t.equal(Buffer.byteLength(json(1_048_576)), 1_048_576)
  const atLimit = await app.inject({ method: 'POST', url: '/signup', headers: { 'content-type': 'application/json' }, payload: json(1_048_576) })
  t.equal(atLimit.statusCode, 200, 'exactly 1 MiB is accepted')
  const over = await app.inject({ method: 'POST', url: '/signup', headers: { 'content-type': 'application/json' }, payload: json(1_048_577) })
  t.equal(over.statusCode, 413)
  t.same(problemIssues(over, '/signup'), [])
  t.equal(over.json().detail, 'The request body is larger than the limit of 1048576 bytes')
})

t.test('BODY_LIMIT_BYTES sets the limit; a route may set its own', async (t) => {
  const app = await appWith(t, {
    env: { BODY_LIMIT_BYTES: '64' },
    routes (fastify) {
      echoRoute(fastify)
      fastify.post('/upload', { bodyLimit: 128 }, async () => ({ ok: true }))
    }
  })
  const small = await app.inject({ method: 'POST', url: '/signup', payload: { email: 'a@b.example', name: 'Ana' } })
  t.equal(small.statusCode, 200)
  const large = await app.inject({ method: 'POST', url: '/signup', payload: { email: 'a@b.example', name: 'x'.repeat(64) } })
  t.equal(large.statusCode, 413)
  t.equal(large.json().detail, 'The request body is larger than the limit of 64 bytes')
  const upload = await app.inject({ method: 'POST', url: '/upload', payload: { data: 'x'.repeat(100) } })
  t.equal(upload.statusCode, 200, "the route's own limit wins")
})

t.test('a validation failure is a 400 problem listing every problem with a JSON Pointer', async (t) => {
  const app = await appWith(t, { routes: echoRoute })
  const response = await app.inject({ method: 'POST', url: '/signup', payload: { email: 'not-an-email', age: -3 } })
  t.equal(response.statusCode, 400)
  t.same(problemIssues(response, '/signup'), [])
  const body = response.json()
  t.same(new Set(body.errors), new Set([
    { path: '/body/email', message: 'must match format "email"' },
    { path: '/body/name', message: "must have required property 'name'" },
    { path: '/body/age', message: 'must be >= 0' }
  ]))
  t.match(body.detail, /^The request body is invalid: \/body\/\w+ .+ \(and 2 more problems\)$/)

  const query = await app.inject({ method: 'POST', url: '/signup?page=0', payload: { email: 'a@b.example', name: 'Ana' } })
  t.equal(query.statusCode, 400)
  t.same(query.json().errors, [{ path: '/querystring/page', message: 'must be >= 1' }])
  t.equal(query.json().detail, 'The request query string is invalid: /querystring/page must be >= 1')
})

t.test('a server error shows only a generic detail and the requestId, which finds the cause in the log', async (t) => {
  const logs = captureLogs()
  const app = await appWith(t, {
    logs,
    routes (fastify) {
      fastify.get('/fails', async () => {
        throw new Error('duplicate key value violates unique constraint "users_email_key" in SELECT * FROM users')
      })
    }
  })
  const response = await app.inject({ method: 'GET', url: '/fails' })
  t.equal(response.statusCode, 500)
  t.same(problemIssues(response, '/fails'), [])
  const body = response.json()
  t.equal(body.detail, 'The server failed to complete this request; the requestId identifies it in the server log')
  t.notMatch(response.body, /SELECT|users_email_key|at .*\.ts|stack/i, 'no SQL, internal message or stack')

  const logged = logs.lines.find((line) => line.msg === 'request failed')
  t.equal(logged?.level, 50, 'logged as an error')
  t.equal(logged?.requestId, body.requestId, 'under the requestId the client got')
  t.match((logged?.err as { message: string, stack: string }), { message: /users_email_key/, stack: /Error/ })
})

t.test('with DEBUG=true a server error shows its message', async (t) => {
  const app = await appWith(t, {
    env: { DEBUG: 'true' },
    routes (fastify) {
      fastify.get('/fails', async () => { throw new Error('relation "teams" does not exist') })
    }
  })
  const response = await app.inject({ method: 'GET', url: '/fails' })
  t.equal(response.statusCode, 500)
  t.same(problemIssues(response), [])
  t.equal(response.json().detail, 'relation "teams" does not exist')
})

t.test('anything thrown, not only an Error, becomes a 500 problem', async (t) => {
  const app = await appWith(t, {
    routes (fastify) {
      fastify.get('/string', async () => { throw 'a bare string' }) // eslint-disable-line no-throw-literal
      fastify.get('/status-code-200', async () => { throw Object.assign(new Error('odd'), { statusCode: 200 }) })
    }
  })
  for (const url of ['/string', '/status-code-200']) {
    const response = await app.inject({ method: 'GET', url })
    t.equal(response.statusCode, 500, url)
    t.same(problemIssues(response, url), [])
    t.notMatch(response.body, /bare string|odd/)
  }
})

t.test('a 4xx a route throws on purpose keeps its message and headers', async (t) => {
  const app = await appWith(t, {
    routes (fastify) {
      fastify.get('/me', async () => {
        throw Object.assign(new Error('Not authenticated'), { statusCode: 401, headers: { 'www-authenticate': 'Bearer' } })
      })
      fastify.get('/limited', {
        onRequest: async (_request, reply) => {
          reply.header('retry-after', '60')
          throw Object.assign(new Error('Rate limit exceeded, retry in 1 minute'), { statusCode: 429 })
        }
      }, async () => 'never')
    }
  })
  const me = await app.inject({ method: 'GET', url: '/me' })
  t.equal(me.statusCode, 401)
  t.same(problemIssues(me, '/me'), [])
  t.equal(me.json().detail, 'Not authenticated')
  t.equal(me.headers['www-authenticate'], 'Bearer')

  const limited = await app.inject({ method: 'GET', url: '/limited' })
  t.equal(limited.statusCode, 429, 'an error from an onRequest hook has the same shape')
  t.same(problemIssues(limited, '/limited'), [])
  t.equal(limited.json().detail, 'Rate limit exceeded, retry in 1 minute')
  t.equal(limited.headers['retry-after'], '60')
})

t.test('a malformed percent-encoding in the path is a 400 problem before routing', async (t) => {
  const logs = captureLogs()
  const app = await appWith(t, {
    logs,
    routes (fastify) { fastify.get('/teams/:name', async () => 'found') }
  })
  const response = await app.inject({ method: 'GET', url: '/teams/%E0%A4%A?x=1' })
  t.equal(response.statusCode, 400)
  t.same(problemIssues(response, '/teams/%E0%A4%A'), [])
  t.equal(response.json().detail, 'The request path is not valid: it has a malformed percent-encoding')
  t.ok(logs.lines.some((line) => line.requestId === response.json().requestId), 'the log names the same request')

  const tooLong = await app.inject({ method: 'GET', url: '/teams/' + 'x'.repeat(101) })
  t.equal(tooLong.statusCode, 414)
  t.same(problemIssues(tooLong), [])
})

t.test('request ids: a well-formed X-Request-Id is kept, echoed and logged; others are replaced', async (t) => {
  const logs = captureLogs()
  const app = await appWith(t, {
    logs,
    routes (fastify) {
      fastify.get('/hello', async (request) => {
        request.log.info('saying hello')
        return { hello: 'world' }
      })
    }
  })
  for (const id of ['3f1c1e0a-2b7d-4d8e-9a41-5b8c0f6e2d11', 'req_01HZX3K8Q9', 'Root=1-5759e988-bd862e3fe1be46a994272793', 'x'.repeat(128)]) {
    const ok = await app.inject({ method: 'GET', url: '/hello', headers: { 'x-request-id': id } })
    t.equal(ok.headers['x-request-id'], id, `kept: ${id.slice(0, 40)}`)
    t.ok(logs.lines.some((line) => line.requestId === id && line.msg === 'saying hello'), 'the handler\'s log line carries it')
    const missing = await app.inject({ method: 'GET', url: '/missing', headers: { 'x-request-id': id } })
    t.equal(missing.json().requestId, id, 'and an error body')
  }

  const malformed = ['', 'x'.repeat(129), 'has space', 'new\nline', '<script>', 'ünïcode', 'a,b', '"quoted"']
  for (const id of malformed) {
    const response = await app.inject({ method: 'GET', url: '/hello', headers: { 'x-request-id': id } })
    t.match(response.headers['x-request-id'], uuid, `replaced: ${JSON.stringify(id.slice(0, 20))}`)
  }
  const twice = await app.inject({ method: 'GET', url: '/hello', headers: { 'x-request-id': ['one', 'two'] } })
  t.match(twice.headers['x-request-id'], uuid, 'a header sent twice is replaced')

  const fresh = await app.inject({ method: 'GET', url: '/hello' })
  t.match(fresh.headers['x-request-id'], uuid, 'made when absent')
  const other = await app.inject({ method: 'GET', url: '/hello' })
  t.not(other.headers['x-request-id'], fresh.headers['x-request-id'], 'unique per request')
})
