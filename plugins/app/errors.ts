import fp from 'fastify-plugin'
import { DatabaseUnavailableError } from '../../src/database/availability.js'
import { databaseRefusal, problem, problemFromError, problemResponse, requestPath, sendProblem } from '../../src/http/problem.js'

/**
 * Every error, and every unknown route, is answered as RFC 9457 problem details.
 * A 5xx is logged with its cause under the request's id and answered with that id only, unless
 * DEBUG=true. Fastify binds a route to the error handler in force when the route is added, so
 * plugins that add routes declare a dependency on this one.
 */
export default fp(async function errors (fastify) {
  // The methods of every fixed path (no parameters or wildcards), as routes are added; OPTIONS is
  // left out, as CORS answers it on every path.
  const methodsByPath = new Map<string, Set<string>>()
  fastify.addHook('onRoute', ({ url, method }) => {
    if (/[:*]/.test(url)) return
    const path = withoutTrailingSlash(url)
    const methods = methodsByPath.get(path) ?? new Set<string>()
    for (const name of [method].flat()) if (name !== 'OPTIONS') methods.add(name)
    if (methods.size > 0) methodsByPath.set(path, methods)
  })

  // DEBUG=true in production logs more but never answers with internals.
  const exposeInternals = fastify.config.DEBUG && fastify.config.NODE_ENV !== 'production'

  fastify.setErrorHandler(function handleError (error, request, reply) {
    const body = problemFromError(error, request, exposeInternals)
    if (error instanceof DatabaseUnavailableError) request.log.warn({ detail: body.detail }, 'request refused: the database cannot answer')
    else if (body.status >= 500) request.log.error({ err: error }, 'request failed')
    else if (databaseRefusal(error) !== undefined) request.log.warn({ err: error }, 'the database refused a value the route should have validated')
    else request.log.debug({ code: (error as { code?: unknown }).code, detail: body.detail }, 'request rejected')
    // http-errors style headers (Allow, WWW-Authenticate, ...) belong to the answer.
    const { headers } = error as { headers?: unknown }
    if (typeof headers === 'object' && headers !== null) reply.headers(headers)
    return sendProblem(reply, body)
  })

  fastify.setNotFoundHandler(function notFound (request, reply) {
    const path = requestPath(request.url)
    // A path the API has, asked with a method it does not take: 405 with Allow (RFC 9110 §15.5.6).
    const allowed = methodsByPath.get(withoutTrailingSlash(path))
    if (allowed !== undefined) {
      const allow = [...allowed].join(', ')
      return sendProblem(reply.header('allow', allow), problem({
        status: 405,
        detail: `${path} answers ${allow}, not ${request.method}`,
        requestId: request.id,
        url: request.url
      }))
    }
    return sendProblem(reply, problem({
      status: 404,
      detail: `There is no ${request.method} ${path} in this API`,
      requestId: request.id,
      url: request.url
    }))
  })

  // RFC 9112 §3.2: an HTTP/1.1 request without Host is refused (Node's own check, requireHostHeader, is off).
  fastify.addHook('onRequest', function requireHost (request, _reply, done) {
    if (request.headers.host === undefined && request.raw.httpVersion === '1.1') {
      done(Object.assign(new Error('An HTTP/1.1 request needs a Host header'), { statusCode: 400 }))
    } else {
      done()
    }
  })

  // Statuses an operation does not list are documented under `default`, in the problem shape.
  fastify.addHook('onRoute', (route) => {
    const response = route.schema?.response as Record<string, unknown> | undefined
    if (response === undefined || route.schema?.hide === true || 'default' in response) return
    route.schema = { ...route.schema, response: { ...response, default: problemResponse } }
  })
}, { name: 'errors', dependencies: ['config', 'request-id'] })

/** `/players/` and `/players` are one route (ignoreTrailingSlash). */
function withoutTrailingSlash (path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path
}
