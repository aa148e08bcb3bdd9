import type { Server } from 'node:http'
import type { FastifyHttpOptions } from 'fastify'
import { AccessLogController, deferredChildLogger } from '../logging/request-logging.js'
import { clientErrorHandler, frameworkErrors } from './parser-errors.js'
import { genReqId } from './request-id.js'
import { buildSerializerOncePerSchema } from './serializers.js'
import { buildValidatorOnFirstUse } from './validators.js'

/**
 * Fastify's server options: fixed when the server is made, before the configuration is read, so
 * the HTTP limits here are constants rather than settings.
 */
export const serverOptions: FastifyHttpOptions<Server> = {
  // genReqId reads X-Request-Id itself: Fastify's requestIdHeader would take any value unchecked.
  requestIdHeader: false,
  genReqId,
  childLoggerFactory: deferredChildLogger,
  logController: new AccessLogController({ requestIdLogLabel: 'requestId' }),
  routerOptions: { ignoreTrailingSlash: true },
  // Validation errors list every problem, not only the first. Route schemas are checked against
  // JSON Schema's meta-schema by the tests rather than at every start, where it is slow. A closed
  // schema (additionalProperties: false) refuses unknown members with 400, as the document says,
  // rather than dropping them.
  ajv: { customOptions: { allErrors: true, validateSchema: false, removeAdditional: false } },
  schemaController: { compilersFactory: { buildValidator: buildValidatorOnFirstUse, buildSerializer: buildSerializerOncePerSchema } },
  // On Node 25 and later, fast-json-stringify fills plain objects for V8's own JSON.stringify: the
  // same bytes, with much less garbage per list page. Older Node ignores the option.
  serializerOpts: { objectMechanism: 'native' },
  frameworkErrors,
  clientErrorHandler,
  // Fastify's default of 10 s fails a slow start on a busy machine; only a plugin that never
  // starts should stop the server.
  pluginTimeout: 120_000,
  // Slow or oversized clients get 408 or 431 instead of holding a socket.
  requestTimeout: 30_000,
  // A request that reaches a closing server on a keep-alive connection opened earlier (a proxy's
  // pooled one) is served, its connection then closed, rather than answered 503: nginx passes
  // a refused or reset request to another instance, but not a 503, so its client would get it.
  return503OnClosing: false,
  keepAliveTimeout: 72_000,
  http: {
    maxHeaderSize: 16_384,
    headersTimeout: 10_000,
    connectionsCheckingInterval: 2_000,
    // Node would answer a missing Host with an empty 400; the errors plugin answers it as a problem.
    requireHostHeader: false
  }
}
