import t from 'tap'
import { buildApp, captureLogs, NOWHERE_SMTP_URL, startTestDatabase, testEnv } from '../helper.js'
import { problemIssues } from '../problem.js'

const database = await startTestDatabase(t)

function failingQuery (fastify: import('fastify').FastifyInstance): void {
  fastify.get('/broken-query', async () => fastify.pg.query('SELECT no_such_column FROM no_such_table'))
}

t.test('a failing SQL statement is a 500 problem without SQL; the log has the cause under its requestId', async (t) => {
  const logs = captureLogs()
  const app = await buildApp(t, testEnv(database), { logs, extend: failingQuery })
  const response = await app.inject({ method: 'GET', url: '/broken-query' })
  t.equal(response.statusCode, 500)
  t.same(problemIssues(response, '/broken-query'), [])
  t.notMatch(response.body, /no_such|SELECT|relation|42P01|stack/i)

  const logged = logs.lines.find((line) => line.msg === 'request failed')
  t.equal(logged?.requestId, response.json().requestId)
  t.match(logged?.err, { message: /relation "no_such_table" does not exist/ })
})

t.test('DEBUG=true shows the database error message in the 500 problem', async (t) => {
  const app = await buildApp(t, testEnv(database, { DEBUG: 'true' }), { extend: failingQuery })
  const response = await app.inject({ method: 'GET', url: '/broken-query' })
  t.equal(response.statusCode, 500)
  t.same(problemIssues(response), [])
  t.equal(response.json().detail, 'relation "no_such_table" does not exist')
})

t.test('DEBUG=true in production still hides the database error message', async (t) => {
  const app = await buildApp(t, testEnv(database, { DEBUG: 'true', NODE_ENV: 'production', SECRET_KEY: 'k'.repeat(32), SMTP_URL: NOWHERE_SMTP_URL }), { extend: failingQuery })
  const response = await app.inject({ method: 'GET', url: '/broken-query' })
  t.equal(response.statusCode, 500)
  t.same(problemIssues(response), [])
  t.notMatch(response.body, /no_such|relation/)
})

t.test('a value the database refuses (a NUL in text, a malformed uuid) is a 400 problem, logged as a warning', async (t) => {
  const logs = captureLogs()
  const app = await buildApp(t, testEnv(database), {
    logs,
    extend (fastify) {
      fastify.post('/echo-text', async (request) => fastify.pg.query('SELECT $1::text AS value', [(request.body as { value: string }).value]))
      fastify.get('/player/:id', async (request) => fastify.pg.query('SELECT $1::uuid AS id', [(request.params as { id: string }).id]))
    }
  })
  const nul = await app.inject({ method: 'POST', url: '/echo-text', payload: { value: 'Ana\u0000Coach' } })
  t.equal(nul.statusCode, 400)
  t.same(problemIssues(nul, '/echo-text'), [])
  t.equal(nul.json().detail, 'The request contains text the database cannot store, such as a NUL character')

  const uuid = await app.inject({ method: 'GET', url: '/player/not-a-uuid' })
  t.equal(uuid.statusCode, 400)
  t.equal(uuid.json().detail, 'The request contains a value the database cannot accept: malformed, too long or out of range')
  t.notMatch(uuid.body, /invalid input syntax|type uuid/, 'the database message, which quotes the value, stays in the log')

  const warning = logs.lines.find((line) => line.requestId === uuid.json().requestId && line.level === 40)
  t.match(warning, { msg: 'the database refused a value the route should have validated', err: { code: '22P02' } })
})

t.test('routes that plugins add (the docs) answer their errors as problems too', async (t) => {
  const app = await buildApp(t, testEnv(database))
  const forbidden = await app.inject({ method: 'GET', url: '/docs/static/%00' })
  t.equal(forbidden.statusCode, 403, "@fastify/static's own refusal")
  t.same(problemIssues(forbidden, '/docs/static/%00'), [])
  const missing = await app.inject({ method: 'GET', url: '/docs/static/no-such-file.js' })
  t.equal(missing.statusCode, 404)
  t.same(problemIssues(missing, '/docs/static/no-such-file.js'), [])
})

t.test('a path the API has, with a method it does not take, is a 405 problem with Allow; an unknown path stays 404', async (t) => {
  const app = await buildApp(t, testEnv(database))
  const cases = [
    { method: 'DELETE', url: '/api/health?verbose=1', allow: 'GET, HEAD' },
    { method: 'POST', url: '/', allow: 'GET, HEAD' },
    { method: 'PATCH', url: '/api/health/', allow: 'GET, HEAD' },
    { method: 'GET', url: '/api/auth/token', allow: 'POST' },
    { method: 'PUT', url: '/api/users/me', allow: 'GET, HEAD, DELETE' }
  ] as const
  for (const { method, url, allow } of cases) {
    const response = await app.inject({ method, url })
    t.equal(response.statusCode, 405, `${method} ${url}`)
    t.equal(response.headers.allow, allow)
    t.same(problemIssues(response, url.split('?')[0]), [])
    t.equal(response.json().detail, `${url.split('?')[0]} answers ${allow}, not ${method}`)
  }
  const unknown = await app.inject({ method: 'DELETE', url: '/api/no-such-thing' })
  t.equal(unknown.statusCode, 404)
  t.equal(unknown.headers.allow, undefined)
})

t.test('every response carries X-Request-Id: success, CORS preflight, error', async (t) => {
  const app = await buildApp(t, testEnv(database))
  const id = 'trace-4b1d2c'
  const responses = await Promise.all([
    app.inject({ method: 'GET', url: '/', headers: { 'x-request-id': id } }),
    app.inject({ method: 'OPTIONS', url: '/api/health', headers: { 'x-request-id': id, origin: 'http://localhost:3000', 'access-control-request-method': 'GET' } }),
    app.inject({ method: 'OPTIONS', url: '/api/health', headers: { 'x-request-id': id } }),
    app.inject({ method: 'DELETE', url: '/api/health', headers: { 'x-request-id': id } })
  ])
  t.same(responses.map((response) => response.statusCode), [200, 204, 204, 405])
  t.same(responses.map((response) => response.headers['x-request-id']), [id, id, id, id])
})

t.test('the OpenAPI document gives every operation the problem shape as its error response', async (t) => {
  const app = await buildApp(t, testEnv(database))
  const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json()
  for (const [path, operations] of Object.entries<Record<string, { responses: Record<string, { content: Record<string, { schema: { title?: string, required: string[] } }> }> }>>(document.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const schema = operation.responses.default?.content['application/problem+json']?.schema
      t.equal(schema?.title, 'Problem', `${method.toUpperCase()} ${path}`)
    }
  }
  const schema = document.paths['/'].get.responses.default.content['application/problem+json'].schema
  t.same(schema.required, ['type', 'title', 'status', 'detail', 'requestId'])
})
