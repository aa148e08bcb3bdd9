import { randomBytes } from 'node:crypto'
import fp from 'fastify-plugin'
import fastifyEnv from '@fastify/env'
import type { ErrorObject } from 'ajv'
import { configAjv, configSchema, describeConfigErrors, productionProblems, type Config, type ConfigPurpose } from '../../src/config/schema.js'
import type { AppOptions } from '../../src/app.js'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
  }
}

export interface ConfigOptions extends AppOptions {
  /** `migrate` leaves out the production checks that only matter to a server (SECRET_KEY, CORS_ORIGINS). */
  purpose?: ConfigPurpose
}

export default fp<ConfigOptions>(async function config (fastify, opts) {
  try {
    await fastify.register(fastifyEnv, {
      schema: configSchema,
      // Tests hand in their own environment; the real process reads process.env, `.env` included.
      ...(opts.env === undefined ? {} : { env: false, data: opts.env }),
      ajv: configAjv()
    })
  } catch (error) {
    const { errors } = error as { errors?: ErrorObject[] }
    throw errors === undefined ? error : new Error(describeConfigErrors(errors))
  }

  const { config: settings, log } = fastify
  const problems = productionProblems(settings, opts.purpose)
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
