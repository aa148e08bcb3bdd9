import t from 'tap'
import { buildApp, captureLogs, startTestDatabase, testEnv } from '../helper.js'

const database = await startTestDatabase(t)

t.test('each request is logged once, when it completes, as one line with its id, method, URL, status and time', async (t) => {
  const logs = captureLogs()
  const app = await buildApp(t, testEnv(database), { logs })
  await app.inject({ method: 'GET', url: '/', headers: { 'x-request-id': 'access-log-1', authorization: 'Bearer not-for-the-log' } })
  await app.inject({ method: 'GET', url: '/no-such-route?x=1' })

  const lines = logs.lines.filter((line) => line.msg === 'request completed')
  t.equal(lines.length, 2)
  t.match(lines[0], { level: 30, requestId: 'access-log-1', method: 'GET', url: '/', statusCode: 200, responseTime: Number })
  t.match(lines[1], { method: 'GET', url: '/no-such-route?x=1', statusCode: 404 })
  t.notOk(logs.lines.some((line) => line.msg === 'incoming request'), 'no second line when the request arrives')
  t.notMatch(logs.text(), /not-for-the-log/)
})

t.test('a logger at warn level, as LOG_LEVEL=warn sets it, leaves out the access lines', async (t) => {
  const logs = captureLogs()
  const app = await buildApp(t, testEnv(database), { logs })
  app.log.level = 'warn'
  await app.inject({ method: 'GET', url: '/' })
  t.notOk(logs.lines.some((line) => line.msg === 'request completed'))
})
