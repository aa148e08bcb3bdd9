import type { Server } from 'node:http'
import type { FastifyHttpOptions, FastifyInstance } from 'fastify'
import bodyLimit from '../plugins/app/body-limit.js'
import errors from '../plugins/app/errors.js'
import requestId from '../plugins/app/request-id.js'
import config from '../plugins/external/config.js'
import { createServer } from '../src/app.js'
import type { captureLogs, Env } from './helper.js'

export interface ErrorAppOptions {
  env?: Env
  logs?: ReturnType<typeof captureLogs>
  routes?: (fastify: FastifyInstance) => void | Promise<void>
  /** Replaces some of the server options, e.g. shorter timeouts. */
  server?: Partial<FastifyHttpOptions<Server>>
}

/**
 * The app's server, config and error-handling plugins with the given routes: what decides how bad
 * requests are answered, without the database.
 */
export async function errorApp (t: { teardown: (fn: () => unknown) => void }, options: ErrorAppOptions = {}): Promise<FastifyInstance> {
  const { env = {}, logs, routes, server } = options
  const app = createServer({ logStream: logs?.stream, logLevel: 'debug', overrides: server })
  app.register(config, { env })
  app.register(bodyLimit)
  app.register(requestId)
  app.register(errors)
  app.register(async (child) => routes?.(child))
  t.teardown(() => app.close())
  await app.ready()
  return app
}
