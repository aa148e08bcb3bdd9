import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { buildApp, captureLogs, startTestDatabase, testEnv } from '../helper.js'
import { testRunnerEnv } from '../spawn-server.js'

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

t.test('LOG_LEVEL=warn leaves out the access lines', async (t) => {
  // The logger's level is fixed as its module loads, from the process's LOG_LEVEL: read in a process of its own.
  const logger = fileURLToPath(new URL('../../src/logging/logger.ts', import.meta.url))
  const { stdout } = await promisify(execFile)(process.execPath, [...process.execArgv, '--input-type=module', '-e',
    `const { loggerOptions } = await import(${JSON.stringify(logger)}); process.stdout.write(loggerOptions.level)`
  ], { env: { ...testRunnerEnv(), LOG_LEVEL: 'warn' } })
  t.equal(stdout, 'warn', 'LOG_LEVEL sets the level')

  const logs = captureLogs()
  const app = await buildApp(t, testEnv(database), { logs, logLevel: stdout })
  await app.inject({ method: 'GET', url: '/' })
  await app.inject({ method: 'GET', url: '/no-such-route' })
  t.notOk(logs.lines.some((line) => line.msg === 'request completed'), 'no access line')
})

t.test("a request's own log lines carry its id, keep the redaction and follow the route's log level", async (t) => {
  const logs = captureLogs()
  const app = await buildApp(t, testEnv(database), {
    logs,
    extend (fastify) {
      fastify.get('/test/log', async (request) => {
        request.log.info({ password: 'not-for-the-log', step: 1 }, 'handler line')
        request.log.child({ part: 'inner' }).warn('child line')
        request.log.trace('trace line before')
        request.log.level = 'trace'
        request.log.trace('trace line after')
        return { level: request.log.level }
      })
      fastify.get('/test/quiet', { logLevel: 'warn' }, async (request) => {
        request.log.info('quiet info line')
        request.log.warn('quiet warn line')
        return { level: request.log.level }
      })
    }
  })
  const loud = await app.inject({ method: 'GET', url: '/test/log', headers: { 'x-request-id': 'own-lines-1' } })
  const quiet = await app.inject({ method: 'GET', url: '/test/quiet', headers: { 'x-request-id': 'own-lines-2' } })

  t.same(loud.json(), { level: 'trace' })
  t.same(quiet.json(), { level: 'warn' }, "the route's level")
  const line = (msg: string) => logs.lines.find((line) => line.msg === msg)
  t.match(line('handler line'), { level: 30, requestId: 'own-lines-1', step: 1, password: '[redacted]' })
  t.match(line('child line'), { level: 40, requestId: 'own-lines-1', part: 'inner' })
  t.notOk(line('trace line before'), 'below the level: dropped')
  t.match(line('trace line after'), { level: 10, requestId: 'own-lines-1' }, 'a level set by the handler applies')
  t.notOk(line('quiet info line'))
  t.match(line('quiet warn line'), { level: 40, requestId: 'own-lines-2' })
  t.notMatch(logs.text(), /not-for-the-log/)
})

t.test('health probes write an access line only when they fail', async (t) => {
  const logs = captureLogs()
  const app = await buildApp(t, testEnv(database), { logs })
  for (const url of ['/api/health', '/api/health/live', '/api/health/ready']) t.equal((await app.inject({ url })).statusCode, 200, url)
  t.same(logs.lines.filter((line) => line.msg === 'request completed'), [], 'no line for a passing probe')

  app.shutdown.begin()
  t.equal((await app.inject({ url: '/api/health/ready' })).statusCode, 503)
  t.match(logs.lines.filter((line) => line.msg === 'request completed'), [{ url: '/api/health/ready', statusCode: 503 }], 'one line for the failed one')
})
