import { randomUUID } from 'node:crypto'
import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import { API_HEADERS } from './security-headers.js'
import { PROBLEM_MEDIA_TYPE, problem, problemFromError, sendProblem } from './problem.js'

/**
 * Errors Fastify meets before a request reaches its route (a malformed percent-encoding in the
 * path, an over-long path parameter) answered as problem details, like every other error.
 */
export const frameworkErrors: FastifyServerOptions['frameworkErrors'] = function frameworkErrors (error, request, reply) {
  const body = problemFromError(error, request, false)
  request.log[body.status >= 500 ? 'error' : 'info']({ code: error.code, status: body.status }, 'request rejected before routing')
  sendProblem(reply, body)
}

const clientErrors: Record<string, { status: number, detail: string }> = {
  HPE_HEADER_OVERFLOW: { status: 431, detail: 'The request line and headers are larger than the server accepts' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, detail: 'The request was not received in time' }
}
const securityHeaderLines = Object.entries(API_HEADERS).map(([name, value]) => `${name}: ${value}\r\n`).join('')
const unreadable = { status: 400, detail: 'The request is not valid HTTP/1.1' }

/**
 * Requests Node's HTTP parser rejects (oversized headers, slow clients, broken HTTP) never reach
 * Fastify: they are answered here on the raw socket, still as problem details with a request id,
 * which the log line carries. `instance` is absent: the request line may not have been read.
 * The error is never logged whole: it carries the raw bytes received, Authorization included.
 */
export function clientErrorHandler (this: FastifyInstance, error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const { status, detail } = clientErrors[error.code ?? ''] ?? unreadable
  const requestId = randomUUID()
  this.log.info({ requestId, code: error.code, status }, 'request rejected by the HTTP parser')
  if (socket.writable) {
    const body = JSON.stringify(problem({ status, detail, requestId }))
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
      `Content-Type: ${PROBLEM_MEDIA_TYPE}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Request-Id: ${requestId}\r\n` +
      securityHeaderLines +
      'Connection: close\r\n\r\n' + body)
  }
  // As Node's own handler does: the parser cannot continue on this connection.
  socket.destroy(error)
}
