import { STATUS_CODES } from 'node:http'
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import pg from 'pg'
import { API_HEADERS } from './security-headers.js'

/** Seconds a client is told to wait (Retry-After) when the server cannot serve it now. */
export const RETRY_AFTER_SECONDS = 5

/** RFC 9457 problem details: the one shape of every error response. */
export const PROBLEM_MEDIA_TYPE = 'application/problem+json'

export const ProblemSchema = Type.Object({
  type: Type.String({ description: '`about:blank`: the status code is the kind of problem' }),
  title: Type.String({ description: 'The status code\'s standard phrase' }),
  status: Type.Integer({ minimum: 400, maximum: 599, description: 'The HTTP status code' }),
  detail: Type.String({ description: 'What went wrong with this request. For a 5xx only a generic text: the requestId finds the cause in the server log' }),
  instance: Type.Optional(Type.String({ description: 'The request path, without the query string; absent when the HTTP request line could not be read' })),
  requestId: Type.String({ description: 'The X-Request-Id response header: it labels every log line of the request' }),
  errors: Type.Optional(Type.Array(Type.Object({
    path: Type.String({ description: 'JSON Pointer to the invalid value, led by the part of the request: /body, /querystring, /params or /headers' }),
    message: Type.String()
  }), { description: 'Validation failures, one per problem (at most 20)' }))
}, {
  title: 'Problem',
  description: 'RFC 9457 problem details',
  examples: [{
    type: 'about:blank',
    title: 'Bad Request',
    status: 400,
    detail: 'The request body is invalid: /body/email must match format "email" (and 1 more problem)',
    instance: '/api/auth/register',
    requestId: '5f0c3c8e-6a0e-4d44-9a55-2f4b1c0a9d1e',
    errors: [
      { path: '/body/email', message: 'must match format "email"' },
      { path: '/body/full_name', message: 'must NOT have fewer than 1 characters' }
    ]
  }]
})

export type Problem = Static<typeof ProblemSchema>
type ProblemError = NonNullable<Problem['errors']>[number]

/** The `default` response of every documented operation, for statuses it does not list: the errors plugin adds it. */
export const problemResponse = {
  description: 'Problem details (RFC 9457), for any error',
  content: { [PROBLEM_MEDIA_TYPE]: { schema: ProblemSchema } }
}

const MAX_LISTED_ERRORS = 20

interface ProblemInit {
  status: number
  detail: string
  requestId: string
  /** The request target as received; the query string is dropped. */
  url?: string
  errors?: ProblemError[]
}

export function problem ({ status, detail, requestId, url, errors }: ProblemInit): Problem {
  return {
    type: 'about:blank',
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail,
    ...(url === undefined ? {} : { instance: requestPath(url) }),
    requestId,
    ...(errors === undefined ? {} : { errors })
  }
}

/** The path of a request target: no query string, and no scheme and host in the absolute form. */
export function requestPath (url: string): string {
  const [target] = url.split('?', 1)
  const authority = /^[a-z][a-z\d+.-]*:\/\/[^/]*/i.exec(target)
  return authority === null ? target : target.slice(authority[0].length) || '/'
}

/**
 * Sent as a string: a plugin's own response schema for the status (@fastify/under-pressure has
 * one for 503) would otherwise serialize the problem and drop its members.
 */
export function sendProblem (reply: FastifyReply, body: Problem): FastifyReply {
  // Its own: an error may come before the hooks that set them ran (frameworkErrors, onRequest).
  return reply.headers(API_HEADERS).code(body.status).header('x-request-id', body.requestId).type(PROBLEM_MEDIA_TYPE).send(JSON.stringify(body))
}

/** The status an error asks for; anything else is a server error. */
function statusOf (error: Partial<FastifyError>): number {
  const status = error.statusCode
  return typeof status === 'number' && Number.isInteger(status) && status >= 400 && status <= 599 ? status : 500
}

/** Server errors whose cause is known and safe to tell; every other 5xx gets the generic detail. */
const serverDetails: Record<string, string> = {
  FST_UNDER_PRESSURE: 'The server is overloaded; retry after the delay in Retry-After',
  FST_ERR_HANDLER_TIMEOUT: 'The server took too long to answer this request'
}

const GENERIC_SERVER_DETAIL = 'The server failed to complete this request; the requestId identifies it in the server log'

/**
 * The problem for an error thrown while handling `request`. A 4xx tells the client what to fix: a
 * clear text for Fastify's own errors, the thrown message otherwise (routes throw 4xx on purpose).
 * A 5xx says nothing about its cause unless `exposeInternals` (DEBUG=true).
 */
export function problemFromError (thrown: unknown, request: FastifyRequest, exposeInternals: boolean): Problem {
  // Anything may be thrown; only an object can say more than "server error".
  const error = (typeof thrown === 'object' && thrown !== null ? thrown : {}) as FastifyError
  const refusal = databaseRefusal(thrown)
  if (refusal !== undefined) return problem({ status: 400, detail: refusal, requestId: request.id, url: request.url })
  const status = statusOf(error)
  const base = { status, requestId: request.id, url: request.url }
  if (status >= 500) {
    // `expose` marks a server error whose message was written for clients (http-errors' convention).
    const tellable = exposeInternals || (error as { expose?: unknown }).expose === true
    const detail = tellable && typeof error.message === 'string' && error.message !== ''
      ? error.message
      : serverDetails[error.code] ?? GENERIC_SERVER_DETAIL
    return problem({ ...base, detail })
  }
  if (Array.isArray(error.validation)) {
    const errors = validationErrors(error)
    return problem({ ...base, detail: validationDetail(error, errors), errors: errors.slice(0, MAX_LISTED_ERRORS) })
  }
  const message = typeof error.message === 'string' && error.message !== '' ? error.message : undefined
  return problem({ ...base, detail: clientDetail(error, request) ?? message ?? STATUS_CODES[status] ?? 'Error' })
}

/**
 * PostgreSQL's data exceptions (SQLSTATE class 22: a NUL in text, a malformed uuid, a number out of
 * range, a string too long) are caused by a value from the request that the route did not refuse
 * itself: a 400, not a server failure. The message, which may quote the value, stays in the log.
 */
export function databaseRefusal (thrown: unknown): string | undefined {
  if (!(thrown instanceof pg.DatabaseError) || !thrown.code?.startsWith('22')) return undefined
  return thrown.code === '22021' || thrown.code === '22P05'
    ? 'The request contains text the database cannot store, such as a NUL character'
    : 'The request contains a value the database cannot accept: malformed, too long or out of range'
}

function clientDetail (error: FastifyError, request: FastifyRequest): string | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return 'The request body is not valid JSON'
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'The request body is empty, but its Content-Type says JSON'
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return `The request body is larger than the limit of ${request.routeOptions.bodyLimit} bytes`
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return 'The request body\'s length does not match its Content-Length'
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': {
      const contentType = request.headers['content-type']
      return contentType === undefined
        ? 'The request has a body but no Content-Type'
        : `This endpoint does not accept Content-Type ${JSON.stringify(contentType.split(';', 1)[0].trim().slice(0, 100))}`
    }
    case 'FST_ERR_BAD_URL':
      return 'The request path is not valid: it has a malformed percent-encoding'
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return 'A parameter in the request path is too long'
    default:
      return undefined
  }
}

const requestParts: Record<string, string> = {
  body: 'body',
  querystring: 'query string',
  params: 'path parameters',
  headers: 'headers'
}

/** One `{ path, message }` per ajv error; `path` points at the offending value, a missing one included. */
function validationErrors (error: FastifyError): ProblemError[] {
  const part = error.validationContext ?? 'body'
  return (error.validation ?? []).map(({ instancePath, params, message }) => {
    const named = params.missingProperty ?? params.additionalProperty
    const path = `/${part}${instancePath}${typeof named === 'string' ? '/' + pointerSegment(named) : ''}`
    return { path, message: message ?? 'is invalid' }
  })
}

function validationDetail (error: FastifyError, errors: ProblemError[]): string {
  const part = requestParts[error.validationContext ?? 'body'] ?? 'input'
  const [first] = errors
  if (first === undefined) return `The request ${part} is invalid`
  const more = errors.length - 1
  return `The request ${part} is invalid: ${first.path} ${first.message}` +
    (more === 0 ? '' : ` (and ${more} more problem${more === 1 ? '' : 's'})`)
}

function pointerSegment (name: string): string {
  return name.replaceAll('~', '~0').replaceAll('/', '~1')
}
