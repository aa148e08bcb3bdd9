import { Type, type Static } from '@sinclair/typebox'
import { Ajv, type ErrorObject, type SchemaValidateFunction } from 'ajv'

/** `.env.example` ships this value; production refuses it. */
export const SECRET_KEY_PLACEHOLDER = 'your-secret-key-here-change-this-in-production'

const FLAG_VALUES = new Map([['true', true], ['1', true], ['false', false], ['0', false]])

/**
 * The Ajv instance @fastify/env reads the environment with: env-schema's own options (strings
 * coerced to the schema's types, defaults filled in, unknown variables dropped, every problem
 * reported) plus two keywords for values that are not plain JSON scalars, so the whole
 * configuration stays one schema and its type one `Static<>`. It does not check the schema against
 * JSON Schema's meta-schema, which costs each Ajv instance noticeable start-up time: this schema
 * is fixed, and Ajv's strict mode still refuses unknown keywords.
 */
export function configAjv (): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    removeAdditional: true,
    useDefaults: true,
    coerceTypes: true,
    allowUnionTypes: true,
    addUsedSchema: false,
    validateSchema: false
  })
  ajv.addKeyword({ keyword: 'envFlag', modifying: true, errors: true, validate: parseFlag })
  ajv.addKeyword({ keyword: 'originList', modifying: true, errors: true, validate: parseOriginList })
  ajv.addKeyword({ keyword: 'postgresUrl', errors: true, validate: isPostgresUrl })
  ajv.addKeyword({ keyword: 'smtpUrl', errors: true, validate: isSmtpUrl })
  ajv.addKeyword({ keyword: 'httpUrl', errors: true, validate: isHttpUrl })
  return ajv
}

/** true/false/1/0 in any letter case, so `DEBUG=True` works. */
const parseFlag: SchemaValidateFunction = (_schema, data, _parentSchema, cxt) => {
  const flag = typeof data === 'boolean' ? data : FLAG_VALUES.get(String(data).trim().toLowerCase())
  if (flag === undefined || cxt === undefined) {
    parseFlag.errors = [{ message: 'must be one of true, false, 1, 0' }]
    return false
  }
  cxt.parentData[cxt.parentDataProperty] = flag
  return true
}

/** A comma-separated list of http(s) origins, trimmed. */
const parseOriginList: SchemaValidateFunction = (_schema, data, _parentSchema, cxt) => {
  const entries: string[] = Array.isArray(data) ? data.map(String) : String(data).split(',')
  const origins = entries.map((entry) => entry.trim()).filter((entry) => entry !== '')
  const invalid = origins.find((origin) => origin !== '*' && !isHttpOrigin(origin))
  if (invalid !== undefined || cxt === undefined) {
    parseOriginList.errors = [{ message: `has "${invalid}", which is not an http(s) origin such as https://app.example.com` }]
    return false
  }
  cxt.parentData[cxt.parentDataProperty] = origins
  return true
}

/**
 * A URL pg can connect with. Checked here, so a password with an unencoded `#`, `/` or `?` stops
 * start-up with a line naming DATABASE_URL rather than pg's bare "Invalid URL". The message never
 * repeats the value: it holds the password.
 */
const isPostgresUrl: SchemaValidateFunction = (_schema, data) => {
  const protocol = parsedUrl(String(data))?.protocol
  if (protocol === 'postgres:' || protocol === 'postgresql:') return true
  isPostgresUrl.errors = [{ message: 'must be a postgres:// or postgresql:// URL, with any # / ? in the password percent-encoded (%23 %2F %3F)' }]
  return false
}

/** Like DATABASE_URL: the message never repeats the value, which holds the SMTP password. */
const isSmtpUrl: SchemaValidateFunction = (_schema, data) => {
  const url = parsedUrl(String(data))
  if ((url?.protocol === 'smtp:' || url?.protocol === 'smtps:') && url.hostname !== '') return true
  isSmtpUrl.errors = [{ message: 'must be an smtp:// or smtps:// URL with a host, with any @ : / # ? in the user name or password percent-encoded' }]
  return false
}

/** An http(s) URL links in mails start with. */
const isHttpUrl: SchemaValidateFunction = (_schema, data) => {
  const url = parsedUrl(String(data))
  if ((url?.protocol === 'http:' || url?.protocol === 'https:') && url.search === '' && url.hash === '') return true
  isHttpUrl.errors = [{ message: 'must be an http(s) URL without a query or fragment, such as https://app.example.com' }]
  return false
}

function isHttpOrigin (value: string): boolean {
  const url = parsedUrl(value)
  return (url?.protocol === 'http:' || url?.protocol === 'https:') && url.origin === value
}

/** The URL, or undefined when the value is not one. */
function parsedUrl (value: string): URL | undefined {
  try {
    return new URL(value)
  } catch {
    return undefined
  }
}

/**
 * One of the given strings, as a JSON Schema enum: Ajv reports a wrong value once, with the values
 * allowed (a union of literals gives one error per literal and none of the values).
 */
function oneOf<const Values extends readonly string[]> (values: Values, options: { default: Values[number], description?: string }) {
  return Type.Unsafe<Values[number]>({ type: 'string', enum: values, ...options })
}

export const configSchema = Type.Object({
  // Any other value would be taken for development: a typo must not switch the production guards off.
  NODE_ENV: oneOf(['development', 'test', 'production'], { default: 'development', description: '`production` turns on the production guards' }),
  HOST: Type.String({ default: '127.0.0.1', minLength: 1 }),
  PORT: Type.Integer({ default: 8000, minimum: 0, maximum: 65535 }),
  APP_NAME: Type.String({ default: 'Spinta Backend', minLength: 1 }),
  DEBUG: Type.Unsafe<boolean>({ envFlag: true, default: false }),
  SECRET_KEY: Type.Optional(Type.String({ minLength: 1 })),
  ALGORITHM: oneOf(['HS256', 'HS384', 'HS512'], { default: 'HS256' }),
  ACCESS_TOKEN_EXPIRE_MINUTES: Type.Integer({ default: 30, minimum: 1 }),
  JWT_ISSUER: Type.String({ default: 'spinta-backend', minLength: 1, description: 'the `iss` of access tokens; tokens naming another issuer are refused' }),
  JWT_AUDIENCE: Type.String({ default: 'spinta-api', minLength: 1, description: 'the `aud` of access tokens; tokens for another audience are refused' }),
  REFRESH_TOKEN_EXPIRE_DAYS: Type.Integer({ default: 14, minimum: 1, description: 'the idle timeout: a sign-in not refreshed for this long ends' }),
  SESSION_LIFETIME_DAYS: Type.Integer({ default: 30, minimum: 1, description: 'how long a sign-in lasts at most, however often it is refreshed' }),
  SESSIONS_PER_USER: Type.Integer({ default: 10, minimum: 1, description: 'sign-ins one user may hold; a new one ends the oldest beyond it' }),
  REFRESH_GRACE_SECONDS: Type.Integer({ default: 10, minimum: 0, maximum: 300, description: 'how long a refresh token may be presented again after use (a lost answer) before that counts as reuse' }),
  LOGIN_ATTEMPTS_PER_MINUTE: Type.Integer({ default: 5, minimum: 1, description: 'sign-in attempts per client IP and username' }),
  ACCOUNT_LOGIN_ATTEMPTS_PER_HOUR: Type.Integer({ default: 20, minimum: 1, description: 'sign-in attempts per account from clients that have not signed in to it before, whatever their address' }),
  PASSWORD_CHECKS_PER_MINUTE: Type.Integer({ default: 30, minimum: 1, description: 'sign-ins, password changes and registrations per client IP, whatever the username' }),
  REFRESHES_PER_MINUTE: Type.Integer({ default: 60, minimum: 1, description: 'refreshes per client IP' }),
  DATABASE_URL: Type.Optional(Type.String({ postgresUrl: true })),
  DATABASE_POOL_MAX: Type.Integer({ default: 15, minimum: 1, description: 'largest number of pooled connections per instance' }),
  DATABASE_CONNECT_TIMEOUT_MS: Type.Integer({ default: 2000, minimum: 1, description: 'longest wait for a new connection or a free pool slot; past it the request gets 503' }),
  DATABASE_QUERY_TIMEOUT_MS: Type.Integer({ default: 30000, minimum: 1 }),
  DATABASE_PREPARED_STATEMENTS: Type.Unsafe<boolean>({ envFlag: true, default: true, description: 'prepare the statement every signed-in request runs once per connection; false behind a transaction-mode pooler that does not carry prepared statements' }),
  SHUTDOWN_GRACE_MS: Type.Integer({ default: 10_000, minimum: 1, description: 'how long in-flight work may take once the listener closes, after SHUTDOWN_DELAY_MS' }),
  SHUTDOWN_DELAY_MS: Type.Integer({ default: 0, minimum: 0, description: 'readiness fails this long before the listener closes' }),
  LOAD_SHEDDING_MAX_EVENT_LOOP_DELAY_MS: Type.Integer({ default: 1000, minimum: 0, description: '0 turns the check off' }),
  LOAD_SHEDDING_MAX_EVENT_LOOP_UTILIZATION: Type.Number({ default: 0, minimum: 0, maximum: 1, description: '0 turns the check off' }),
  HEALTH_TIMEOUT_MS: Type.Integer({ default: 2000, minimum: 1, description: 'upper bound on every health answer' }),
  BODY_LIMIT_BYTES: Type.Integer({ default: 1_048_576, minimum: 1, description: 'largest request body a route accepts; larger gets 413' }),
  METRICS_HOST: Type.String({ default: '127.0.0.1', minLength: 1, description: 'where Prometheus scrapes /metrics: never the public address' }),
  METRICS_PORT: Type.Integer({ default: 9464, minimum: 0, maximum: 65535, description: '0 turns the metrics listener off' }),
  EMBEDDED_DATABASE_DIR: Type.String({ default: '.data/postgres', minLength: 1 }),
  CORS_ORIGINS: Type.Unsafe<string[]>({ originList: true, default: 'http://localhost:3000,http://localhost:8080' }),
  SMTP_URL: Type.Optional(Type.String({ smtpUrl: true, description: 'smtp:// or smtps://; unset outside production, mails are written to the log' })),
  MAIL_FROM: Type.String({ default: 'Spinta <no-reply@localhost>', minLength: 3, description: 'the From of every mail' }),
  APP_URL: Type.String({ httpUrl: true, default: 'http://localhost:3000', description: 'the front end links in mails point to' }),
  VERIFY_EMAIL_TOKEN_EXPIRE_HOURS: Type.Integer({ default: 24, minimum: 1, description: 'how long a verification link works' }),
  PASSWORD_RESET_TOKEN_EXPIRE_MINUTES: Type.Integer({ default: 30, minimum: 1, description: 'how long a password reset link works' }),
  MAILS_PER_ADDRESS_PER_HOUR: Type.Integer({ default: 5, minimum: 1, description: 'registrations, verification resends and reset requests per email address, whatever the client' }),
  MAIL_REQUESTS_PER_MINUTE: Type.Integer({ default: 10, minimum: 1, description: 'registrations, verification resends, reset requests and mailed tokens presented per client IP' }),
  MAIL_RETRY_MIN_MS: Type.Integer({ default: 1000, minimum: 1, description: 'wait before the first retry of a mail the SMTP server did not take; doubled each time' }),
  MAIL_RETRY_MAX_MS: Type.Integer({ default: 300_000, minimum: 1, description: 'longest wait between retries, and between looks for mail other instances queued' })
})

export type Config = Static<typeof configSchema>

/** Ajv's errors for the environment as one line, each part naming its variable. */
export function describeConfigErrors (errors: ErrorObject[]): string {
  const parts = errors.map(({ instancePath, keyword, message, params }) => {
    const variable = instancePath.slice(1)
    if (keyword === 'enum') return `${variable} must be one of ${(params as { allowedValues: string[] }).allowedValues.join(', ')}`
    return variable === '' ? String(message) : `${variable} ${message}`
  })
  return [...new Set(parts)].join('; ')
}

/** What a process reads the config for: `migrate` (`npm run migrate`) signs no tokens and answers no browsers. */
export type ConfigPurpose = 'serve' | 'migrate'

/** RFC 7518 §3.2: an HMAC key at least as long as the hash's output. */
export function secretKeyBytes (algorithm: Config['ALGORITHM']): number {
  return Number(algorithm.slice(2)) / 8
}

/** What `NODE_ENV=production` refuses to start with; each line names its variable. */
export function productionProblems (config: Config, purpose: ConfigPurpose = 'serve'): string[] {
  if (config.NODE_ENV !== 'production') return []
  const problems: string[] = []
  if (config.DATABASE_URL === undefined) problems.push('DATABASE_URL is required when NODE_ENV=production')
  if (purpose === 'migrate') return problems
  if (config.SECRET_KEY === undefined) {
    problems.push('SECRET_KEY is required when NODE_ENV=production')
  } else if (config.SECRET_KEY === SECRET_KEY_PLACEHOLDER) {
    problems.push('SECRET_KEY must not be the placeholder from .env.example when NODE_ENV=production')
  } else if (Buffer.byteLength(config.SECRET_KEY) < secretKeyBytes(config.ALGORITHM)) {
    const bytes = secretKeyBytes(config.ALGORITHM)
    problems.push(`SECRET_KEY must be at least ${bytes} bytes for ${config.ALGORITHM} when NODE_ENV=production (RFC 7518 §3.2: as long as the hash); \`openssl rand -base64 ${bytes}\` makes one`)
  }
  if (config.SMTP_URL === undefined) problems.push('SMTP_URL is required when NODE_ENV=production: account mails (verification, password reset) need an SMTP server')
  if (config.CORS_ORIGINS.includes('*')) {
    problems.push('CORS_ORIGINS must not contain * when NODE_ENV=production: credentials are allowed')
  }
  return problems
}
