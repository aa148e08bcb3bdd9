import path from 'node:path'
import { fileURLToPath } from 'node:url'
import autoload from '@fastify/autoload'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import { AccessLogController } from './logger.js'

export interface AppOptions {
  /** Variables to read instead of process.env and `.env`: tests pass their own. */
  env?: Record<string, string | undefined>
}

const here = path.dirname(fileURLToPath(import.meta.url))

/** Server options shared by the production server and the tests, which build the app the same way. */
export const serverOptions: FastifyServerOptions = {
  requestIdHeader: 'x-request-id',
  logController: new AccessLogController({ requestIdLogLabel: 'requestId' }),
  routerOptions: { ignoreTrailingSlash: true }
}

/**
 * The whole application as one plugin: infrastructure from plugins/ (config first, by their
 * declared dependencies), then the HTTP API from routes/.
 */
export default async function app (fastify: FastifyInstance, opts: AppOptions): Promise<void> {
  await fastify.register(autoload, { dir: path.join(here, '..', 'plugins'), options: opts })
  await fastify.register(autoload, { dir: path.join(here, '..', 'routes'), options: opts })
}
