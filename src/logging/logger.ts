import type { FastifyServerOptions } from 'fastify'
import pino from 'pino'

const logLevel = process.env.LOG_LEVEL ?? 'info'
const logLevels = [...Object.keys(pino.levels.values), 'silent']

/**
 * Why LOG_LEVEL cannot be used, when it cannot. The logger exists before the config is read, so
 * LOG_LEVEL is read from process.env here and start-up reports a bad value like a config error.
 */
export const logLevelProblem = logLevels.includes(logLevel) ? undefined : `LOG_LEVEL must be one of ${logLevels.join(', ')}`

/**
 * Fields that hold a secret wherever they appear in a logged object (a request body, say): every
 * password and token field of the API, by name.
 */
export const SECRET_FIELDS = [
  'password',
  'current_password',
  'new_password',
  'refresh_token',
  'access_token',
  'token',
  'id_token',
  'client_secret',
  'reset_token'
]

/** pino options for the server: secrets are censored at the top of a logged object or up to two levels down. */
export const loggerOptions = {
  // Start-up refuses a bad LOG_LEVEL; 'info' keeps this module importable meanwhile.
  level: logLevelProblem === undefined ? logLevel : 'info',
  redact: {
    paths: [
      'req.headers.authorization',
      'req.headers.cookie',
      'res.headers["set-cookie"]',
      'headers.authorization',
      'headers.cookie',
      '*.headers.authorization',
      '*.headers.cookie',
      ...SECRET_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`]),
      'DATABASE_URL',
      '*.DATABASE_URL',
      'SECRET_KEY',
      '*.SECRET_KEY',
      'connectionString',
      '*.connectionString'
    ],
    censor: '[redacted]'
  }
} satisfies FastifyServerOptions['logger']
