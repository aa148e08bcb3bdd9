import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { serverOptions } from '../../src/http/server-options.js'
import { buildApp, captureLogs, startTestDatabase, testEnv, type BuildOptions } from '../helper.js'
import { problemIssues } from '../problem.js'
import { rawRequest } from '../raw-http.js'

const secret = 'Bearer a-token-that-must-never-be-logged-0123456789'

const database = await startTestDatabase(t)

/** The app as production builds it, listening: these requests are refused by Node's HTTP parser, which inject() skips. */
async function listening (t: Test, options: Pick<BuildOptions, 'logs' | 'server'> = {}): Promise<number> {
  const app = await buildApp(t, testEnv(database), options)
  await app.listen({ host: '127.0.0.1', port: 0 })
  return (app.server.address() as AddressInfo).port
}

t.test('request line and headers: 15 000 bytes are served, over 16 KiB is a 431 problem', async (t) => {
  const logs = captureLogs()
  const port = await listening(t, { logs })
  const get = (headerBytes: number) => rawRequest(port, `GET / HTTP/1.1\r\nHost: x\r\nAuthorization: ${secret}\r\nX-Padding: ${'p'.repeat(headerBytes)}\r\n\r\n`)

  t.equal((await get(15_000)).statusCode, 200)
  const response = await get(17_000)
  t.equal(response.statusCode, 431)
  t.same(problemIssues(response), [])
  t.equal(response.headers.connection, 'close')
  const body = JSON.parse(response.body)
  t.equal(body.detail, 'The request line and headers are larger than the server accepts')
  t.notOk('instance' in body, 'no instance: the request line was not read as a request')

  const logged = logs.lines.find((line) => line.requestId === body.requestId)
  t.match(logged, { level: 30, code: 'HPE_HEADER_OVERFLOW', status: 431 }, 'logged under the same request id')
  t.notMatch(logs.text(), /a-token-that-must-never-be-logged/, 'the raw request, Authorization included, is not logged')
})

t.test('a request that is not HTTP is a 400 problem', async (t) => {
  const port = await listening(t)
  for (const request of ['HELLO\r\n\r\n', 'GET /a b c HTTP/1.1\r\nHost: x\r\n\r\n', 'GET / HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n',
    'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n']) {
    const response = await rawRequest(port, request)
    t.equal(response.statusCode, 400, JSON.stringify(request.slice(0, 30)))
    t.same(problemIssues(response), [])
    t.equal(JSON.parse(response.body).detail, 'The request is not valid HTTP/1.1')
  }
})

t.test('an HTTP/1.1 request without Host is a 400 problem; HTTP/1.0 needs none', async (t) => {
  const port = await listening(t)
  const response = await rawRequest(port, 'GET /?q=1 HTTP/1.1\r\n\r\n')
  t.equal(response.statusCode, 400)
  t.same(problemIssues(response, '/'), [])
  t.equal(JSON.parse(response.body).detail, 'An HTTP/1.1 request needs a Host header')
  t.equal((await rawRequest(port, 'GET / HTTP/1.0\r\n\r\n')).statusCode, 200)
})

t.test('a client too slow to send its headers gets a 408 problem', async (t) => {
  // The real headers timeout is 10 s; a shorter one shows the answer without a long wait.
  const port = await listening(t, { server: { http: { ...serverOptions.http, headersTimeout: 200, connectionsCheckingInterval: 50 } } })
  const response = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\n')
  t.equal(response.statusCode, 408)
  t.same(problemIssues(response), [])
  t.equal(JSON.parse(response.body).detail, 'The request was not received in time')
})
