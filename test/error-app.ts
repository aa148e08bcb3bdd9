import Fastify, { type FastifyHttpOptions, type FastifyInstance } from 'fastify'
import type { Server } from 'node:http'
import bodyLimit from '../plugins/body-limit.js'
import config from '../plugins/config.js'
import errors from '../plugins/errors.js'
import requestId from '../plugins/request-id.js'
import { serverOptions } from '../src/app.js'
import { loggerOptions } from '../src/logger.js'
import type { captureLogs, Env } from './helper.js'

export interface ErrorAppOptions {
  env?: Env
  logs?: ReturnType<typeof captureLogs>
  routes?: (fastify: FastifyInstance) => void | Promise<void>
  /** Replaces some of the server options, e.g. shorter timeouts. */
  server?: Partial<FastifyHttpOptions<Server>>
}

/**
 * The app's server options, config and error-handling plugins with the given routes: what decides
 * how bad requests are answered, without the database.
 */
export async function errorApp (t: { teardown: (fn: () => unknown) => void }, options: ErrorAppOptions = {}): Promise<FastifyInstance> {
  const { env = {}, logs, routes, server } = options
  const app = Fastify({
    ...serverOptions,
    ...server,
    logger: logs === undefined ? false : { ...loggerOptions, level: 'debug', stream: logs.stream }
  })
  app.register(config, { env })
  app.register(bodyLimit)
  app.register(requestId)
  app.register(errors)
  app.register(async (child) => routes?.(child))
  t.teardown(() => app.close())
  await app.ready()
  return app
}
