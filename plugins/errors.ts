import fp from 'fastify-plugin'
import { databaseRefusal, problem, problemFromError, problemResponse, requestPath, sendProblem } from '../src/problem.js'

/**
 * Every error, and every unknown route, is answered as RFC 9457 problem details (src/problem.ts).
 * A 5xx is logged with its cause under the request's id and answered with that id only, unless
 * DEBUG=true. Fastify binds a route to the error handler in force when the route is added, so
 * plugins that add routes declare a dependency on this one.
 */
export default fp(async function errors (fastify) {
  // DEBUG=true in production logs more but never answers with internals (README, "Errors").
  const exposeInternals = fastify.config.DEBUG && fastify.config.NODE_ENV !== 'production'

  fastify.setErrorHandler(function handleError (error, request, reply) {
    const body = problemFromError(error, request, exposeInternals)
    if (body.status >= 500) request.log.error({ err: error }, 'request failed')
    else if (databaseRefusal(error) !== undefined) request.log.warn({ err: error }, 'the database refused a value the route should have validated')
    else request.log.debug({ code: (error as { code?: unknown }).code, detail: body.detail }, 'request rejected')
    // http-errors style headers (Allow, WWW-Authenticate, ...) belong to the answer.
    const { headers } = error as { headers?: unknown }
    if (typeof headers === 'object' && headers !== null) reply.headers(headers)
    return sendProblem(reply, body)
  })

  fastify.setNotFoundHandler(function notFound (request, reply) {
    return sendProblem(reply, problem({
      status: 404,
      detail: `There is no ${request.method} ${requestPath(request.url)} in this API`,
      requestId: request.id,
      url: request.url
    }))
  })

  // RFC 9112 §3.2: an HTTP/1.1 request without Host is refused (see requireHostHeader in src/app.ts).
  fastify.addHook('onRequest', function requireHost (request, _reply, done) {
    if (request.headers.host === undefined && request.raw.httpVersion === '1.1') {
      done(Object.assign(new Error('An HTTP/1.1 request needs a Host header'), { statusCode: 400 }))
    } else {
      done()
    }
  })

  // The OpenAPI document shows the problem shape as every documented operation's error response.
  fastify.addHook('onRoute', (route) => {
    const response = route.schema?.response as Record<string, unknown> | undefined
    if (response === undefined || route.schema?.hide === true || 'default' in response) return
    route.schema = { ...route.schema, response: { ...response, default: problemResponse } }
  })
}, { name: 'errors', dependencies: ['config', 'request-id'] })
