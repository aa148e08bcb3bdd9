import { STATUS_CODES } from 'node:http'
import { Type } from '@sinclair/typebox'
import { PROBLEM_MEDIA_TYPE, ProblemSchema, type Problem } from './problem.js'

/** The error statuses an operation may document one by one; anything else falls under `default`. */
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 412 | 413 | 415 | 428 | 429 | 503

/** What one error status means for one operation, and the `detail` its example shows. */
export interface ErrorDoc {
  description: string
  detail: string
}

export type ErrorDocs = Partial<Record<ErrorStatus, ErrorDoc>>

/** The seconds to wait, as @fastify/rate-limit, @fastify/under-pressure and the probes send them. */
export const retryAfterHeader = { 'Retry-After': Type.Integer({ minimum: 0, description: 'Seconds to wait before trying again' }) }

// Headers a client needs to act on the status; the errors plugin keeps them on the answer.
const headersOf: Partial<Record<ErrorStatus, Record<string, unknown>>> = {
  401: {
    'WWW-Authenticate': Type.String({
      description: '`Bearer`, or `Bearer error="invalid_token"` for a token that is malformed, expired, forged or names no account'
    })
  },
  429: retryAfterHeader,
  503: retryAfterHeader
}

// Without the schema's own example (a 400): each response shows one of its own status.
const { examples: _examples, ...problemBody } = ProblemSchema

/** One documented error response, in OpenAPI's shape, which Fastify also reads. */
export interface ErrorResponse {
  description: string
  headers?: Record<string, unknown>
  content: Record<string, { schema: typeof problemBody, example: Problem }>
}

/**
 * The documented error responses of the operation at `instance`, each an RFC 9457 problem with
 * an example, and the headers that go with its status (WWW-Authenticate, Retry-After).
 */
export function errorResponses (instance: string, docs: ErrorDocs): Partial<Record<ErrorStatus, ErrorResponse>> {
  return Object.fromEntries(Object.entries(docs).map(([key, { description, detail }]) => {
    const status = Number(key) as ErrorStatus
    const example: Problem = {
      type: 'about:blank',
      title: STATUS_CODES[status] ?? 'Error',
      status,
      detail,
      instance,
      requestId: '5f0c3c8e-6a0e-4d44-9a55-2f4b1c0a9d1e'
    }
    const headers = headersOf[status]
    const response: ErrorResponse = {
      description,
      ...(headers === undefined ? {} : { headers }),
      content: { [PROBLEM_MEDIA_TYPE]: { schema: problemBody, example } }
    }
    return [status, response]
  }))
}

// Statuses that several operations share, for the same reason.

/** Any operation, inputs or not: HTTP/1.1 requires a Host header. */
export const malformedRequest: ErrorDocs = {
  400: { description: 'A malformed request, such as an HTTP/1.1 request without a Host header', detail: 'An HTTP/1.1 request needs a Host header' }
}

/** Operations that read a body. */
export const bodyRefusals: ErrorDocs = {
  413: { description: 'The body is larger than the server accepts (BODY_LIMIT_BYTES, 1 MiB by default)', detail: 'The request body is larger than the limit of 1048576 bytes' },
  415: { description: 'The body\'s Content-Type is not one this operation reads', detail: 'This endpoint does not accept Content-Type "text/plain"' }
}

/** Operations that need the database, which load shedding also applies to. */
export const databaseRefusals: ErrorDocs = {
  503: {
    description: 'The server is overloaded and sheds load, or the database cannot answer (unreachable, or every connection busy): retry after `Retry-After` seconds',
    detail: 'The database is unavailable; retry after the delay in Retry-After'
  }
}

/** Operations load shedding applies to: all but the health check and the liveness probe. */
export const loadShedding: ErrorDocs = {
  503: { description: 'The server is overloaded and sheds load: retry after `Retry-After` seconds', detail: 'The server is overloaded; retry after the delay in Retry-After' }
}
