import { randomBytes } from 'node:crypto'
import fp from 'fastify-plugin'
import fastifyEnv from '@fastify/env'
import type { ErrorObject } from 'ajv'
import { configAjv, configSchema, describeConfigErrors, productionProblems, type Config } from '../src/config.js'
import type { AppOptions } from '../src/app.js'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
  }
}

export default fp<AppOptions>(async function config (fastify, opts) {
  try {
    await fastify.register(fastifyEnv, {
      schema: configSchema,
      // Tests hand in their own environment; the real process reads `.env`, which real variables override.
      ...(opts.env === undefined ? { dotenv: true } : { env: false, data: opts.env }),
      ajv: configAjv()
    })
  } catch (error) {
    const { errors } = error as { errors?: ErrorObject[] }
    throw errors === undefined ? error : new Error(describeConfigErrors(errors))
  }

  const { config: settings, log } = fastify
  const problems = productionProblems(settings)
  if (problems.length > 0) throw new Error(problems.join('; '))

  if (settings.DEBUG) {
    log.level = 'debug'
    if (settings.NODE_ENV === 'production') log.warn('DEBUG=true in production: every SQL statement is logged')
  }
  if (settings.SECRET_KEY === undefined) {
    settings.SECRET_KEY = randomBytes(32).toString('base64url')
    log.warn('SECRET_KEY is not set: using a random key for this process only; tokens will not survive a restart')
  }
}, { name: 'config' })
