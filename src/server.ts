import Fastify from 'fastify'
import fp from 'fastify-plugin'
import closeWithGrace from 'close-with-grace'
import app, { serverOptions } from './app.js'
import { loggerOptions } from './logger.js'

const server = Fastify({ ...serverOptions, logger: loggerOptions })
server.register(fp(app))

try {
  await server.ready()
} catch (error) {
  // One plain line on stderr: a start-up failure must be readable without a log viewer.
  process.stderr.write(`spinta-backend failed to start: ${(error as Error).message}\n`)
  await server.close().catch(() => {})
  process.exit(1)
}

closeWithGrace({ delay: server.config.SHUTDOWN_GRACE_MS, logger: server.log }, async ({ signal, err }) => {
  if (err !== undefined) server.log.error({ err }, 'closing after an uncaught error')
  else server.log.info({ signal }, 'shutting down')
  await server.close()
})

await server.listen({ host: server.config.HOST, port: server.config.PORT })
