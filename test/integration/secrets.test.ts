import t from 'tap'
import { buildApp, captureLogs, startTestDatabase, testEnv } from '../helper.js'

const database = await startTestDatabase(t)
const password = decodeURIComponent(new URL(database.url).password)
const secretKey = 'the-signing-key-of-this-test-0123456789abcdef'

t.test('the start-up log shows the database URL with its password redacted', async (t) => {
  const logs = captureLogs()
  await buildApp(t, testEnv(database, { SECRET_KEY: secretKey }), { logs })
  const checked = logs.lines.find((line) => line.msg === 'database connection checked')
  t.equal(checked?.url, database.url.replace(`:${encodeURIComponent(password)}@`, ':***@'))
  t.match(checked?.url, /^postgresql:\/\/postgres:\*\*\*@localhost\/postgres\?host=/)
  t.notOk(logs.text().includes(password), 'the password is nowhere in the log')
})

t.test('the database password, SECRET_KEY, Authorization and Cookie never reach a response or the log', async (t) => {
  const logs = captureLogs()
  const app = await buildApp(t, testEnv(database, { SECRET_KEY: secretKey }), {
    logs,
    extend (fastify) {
      // Code that logs carelessly: whole header sets and the configuration.
      fastify.get('/careless', async (request) => {
        request.log.info({ headers: request.headers, config: fastify.config }, 'careless log line')
        request.log.info({ req: { headers: request.headers } }, 'another careless log line')
        return { ok: true }
      })
      fastify.get('/crash', async () => { throw new Error('crashed') })
    }
  })
  const headers = { authorization: `Bearer ${secretKey}`, cookie: `session=${password}` }
  const responses = await Promise.all([
    app.inject({ method: 'GET', url: '/careless', headers }),
    app.inject({ method: 'GET', url: '/crash', headers }),
    app.inject({ method: 'GET', url: '/no-such-route', headers }),
    app.inject({ method: 'POST', url: '/careless', headers: { ...headers, 'content-type': 'application/json' }, payload: `{"key": "${secretKey}"` }),
    app.inject({ method: 'GET', url: '/openapi.json', headers }),
    app.inject({ method: 'GET', url: '/api/health', headers })
  ])
  t.same(responses.map((response) => response.statusCode), [200, 500, 404, 400, 200, 200])
  for (const response of responses) {
    const text = JSON.stringify(response.headers) + response.body
    t.notOk(text.includes(secretKey) || text.includes(password), `${response.statusCode} ${response.body.slice(0, 60)}`)
  }

  const careless = logs.lines.find((line) => line.msg === 'careless log line') as { headers: Record<string, string>, config: Record<string, unknown> }
  t.equal(careless.headers.authorization, '[redacted]')
  t.equal(careless.headers.cookie, '[redacted]')
  t.equal(careless.config.SECRET_KEY, '[redacted]')
  t.equal(careless.config.DATABASE_URL, '[redacted]')
  t.equal(careless.headers['user-agent'], 'lightMyRequest', 'other headers stay readable')
  t.notOk(logs.text().includes(secretKey), 'SECRET_KEY is nowhere in the log')
  t.notOk(logs.text().includes(password), 'the database password is nowhere in the log')
})
