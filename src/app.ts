import path from 'node:path'
import { fileURLToPath } from 'node:url'
import autoload from '@fastify/autoload'
import type { Server } from 'node:http'
import Fastify, { type FastifyHttpOptions, type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { DestinationStream } from 'pino'
import { serverOptions } from './http/server-options.js'
import type { TrustProxy } from './http/trust-proxy.js'
import { loggerOptions } from './logging/logger.js'
import { activeTracing } from './tracing/tracing.js'

export interface AppOptions {
  /** Variables to read instead of process.env (`.env` included): tests and scripts pass their own. */
  env?: Record<string, string | undefined>
  /** The clock mailed tokens expire by, when it is not the system's: tests move it. */
  now?: () => Date
}

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')

/**
 * The whole application as one plugin: infrastructure from plugins/ (ordered by their declared
 * dependencies), then the HTTP API from routes/.
 */
export default async function app (fastify: FastifyInstance, opts: AppOptions): Promise<void> {
  await fastify.register(autoload, { dir: path.join(root, 'plugins'), options: opts })
  await fastify.register(autoload, { dir: path.join(root, 'routes'), options: opts })
}

export interface ServerOptions {
  /** Where log lines go; nothing is logged without it. */
  logStream?: DestinationStream
  /** The log level, when it is not LOG_LEVEL's. */
  logLevel?: string
  trustProxy?: TrustProxy
  /** Server options to change, such as shorter timeouts in a test. */
  overrides?: Partial<FastifyHttpOptions<Server>>
}

/** A Fastify server with the app's server options and logger, and nothing registered yet. */
export function createServer ({ logStream, logLevel, trustProxy = false, overrides }: ServerOptions = {}): FastifyInstance {
  // While tracing, every line (child loggers' too) carries the active span's trace_id and span_id.
  const tracing = activeTracing()
  return Fastify({
    ...serverOptions,
    ...overrides,
    trustProxy,
    logger: logStream === undefined
      ? false
      : { ...loggerOptions, ...(logLevel === undefined ? {} : { level: logLevel }), ...(tracing === undefined ? {} : { mixin: tracing.logFields }), stream: logStream }
  })
}

/** The app on a new server, not yet ready: how the server, the tests and the scripts all make it. */
export function buildApp ({ env, now, ...server }: ServerOptions & AppOptions = {}): FastifyInstance {
  const fastify = createServer(server)
  fastify.register(fp(app), { env, now })
  return fastify
}
