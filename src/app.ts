import path from 'node:path'
import { fileURLToPath } from 'node:url'
import autoload from '@fastify/autoload'
import type { Server } from 'node:http'
import type { FastifyHttpOptions, FastifyInstance } from 'fastify'
import { clientErrorHandler, frameworkErrors } from './framework-errors.js'
import { AccessLogController, deferredChildLogger } from './logger.js'
import { genReqId } from './request-id.js'
import { buildSerializerOncePerSchema } from './serializers.js'

export interface AppOptions {
  /** Variables to read instead of process.env and `.env`: tests pass their own. */
  env?: Record<string, string | undefined>
}

const here = path.dirname(fileURLToPath(import.meta.url))

/** Server options shared by the production server and the tests, which build the app the same way. */
export const serverOptions: FastifyHttpOptions<Server> = {
  // genReqId reads X-Request-Id itself: Fastify's requestIdHeader would take any value unchecked.
  requestIdHeader: false,
  genReqId,
  childLoggerFactory: deferredChildLogger,
  logController: new AccessLogController({ requestIdLogLabel: 'requestId' }),
  routerOptions: { ignoreTrailingSlash: true },
  // Validation errors list every problem, not only the first (src/problem.ts shows at most 20).
  // Route schemas are checked against JSON Schema's meta-schema by the tests
  // (test/integration/openapi.test.ts), not at every start, where compiling the meta-schema took ~50 ms.
  ajv: { customOptions: { allErrors: true, validateSchema: false } },
  schemaController: { compilersFactory: { buildSerializer: buildSerializerOncePerSchema } },
  frameworkErrors,
  clientErrorHandler,
  // Slow or oversized clients (README, "Limits and timeouts"). Fixed here: the server exists before the config is read.
  requestTimeout: 30_000,
  keepAliveTimeout: 72_000,
  http: {
    maxHeaderSize: 16_384,
    headersTimeout: 10_000,
    connectionsCheckingInterval: 2_000,
    // Node would answer a missing Host with an empty 400; plugins/errors.ts answers it as a problem.
    requireHostHeader: false
  }
}

/**
 * The whole application as one plugin: infrastructure from plugins/ (config first, by their
 * declared dependencies), then the HTTP API from routes/.
 */
export default async function app (fastify: FastifyInstance, opts: AppOptions): Promise<void> {
  await fastify.register(autoload, { dir: path.join(here, '..', 'plugins'), options: opts })
  await fastify.register(autoload, { dir: path.join(here, '..', 'routes'), options: opts })
}
