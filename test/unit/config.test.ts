import t from 'tap'
import config from '../../plugins/external/config.js'
import { captureLogs, type Env } from '../helper.js'
import { SECRET_KEY_PLACEHOLDER, type Config } from '../../src/config/schema.js'
import { createServer } from '../../src/app.js'
import { SUSPECT_AFTER_MS } from '../../plugins/app/database-availability.js'

const productionEnv: Env = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgresql://spinta:db-password@db.internal:5432/spinta',
  SECRET_KEY: 'a-production-secret-key-of-40-characters!',
  SMTP_URL: 'smtps://mailer%40example.com:smtp-p%40ss@smtp.example.com'
}

/** The config plugin alone, as the app registers it, on the given environment. */
async function loadConfig (env: Env, logs?: ReturnType<typeof captureLogs>): Promise<Config> {
  const app = createServer({ logStream: logs?.stream })
  app.register(config, { env })
  try {
    await app.ready()
    return app.config
  } finally {
    await app.close()
  }
}

t.test('defaults: PORT 8000, HOST 127.0.0.1, APP_NAME, ALGORITHM, DEBUG off, CORS origins, body limit', async (t) => {
  const settings = await loadConfig({})
  t.equal(settings.PORT, 8000)
  t.equal(settings.HOST, '127.0.0.1')
  t.equal(settings.APP_NAME, 'Spinta Backend')
  t.equal(settings.ALGORITHM, 'HS256')
  t.equal(settings.DEBUG, false)
  t.same(settings.CORS_ORIGINS, ['http://localhost:3000', 'http://localhost:8080'])
  t.equal(settings.BODY_LIMIT_BYTES, 1_048_576)
})

t.test('defaults: a request that needs an unreachable database gets its 503 within 3 s (docs/errors.md)', async (t) => {
  const { HEALTH_TIMEOUT_MS } = await loadConfig({})
  // The check starts once the query has waited SUSPECT_AFTER_MS, or that much later again when one
  // passed just before, and answers within HEALTH_TIMEOUT_MS (docs/deployment.md).
  t.ok(2 * SUSPECT_AFTER_MS + HEALTH_TIMEOUT_MS <= 3000, `${SUSPECT_AFTER_MS} ms twice, then ${HEALTH_TIMEOUT_MS} ms`)
})

t.test('DEBUG accepts true/false/1/0 in any letter case', async (t) => {
  for (const [value, expected] of [['true', true], ['True', true], ['1', true], ['false', false], ['False', false], ['0', false]] as const) {
    t.equal((await loadConfig({ DEBUG: value })).DEBUG, expected, `DEBUG=${value}`)
  }
})

t.test('a NODE_ENV or ALGORITHM outside its values stops start-up, naming the variable and the values', async (t) => {
  await t.rejects(loadConfig({ ...productionEnv, NODE_ENV: 'prod' }), { message: 'NODE_ENV must be one of development, test, production' })
  await t.rejects(loadConfig({ ALGORITHM: 'none' }), { message: 'ALGORITHM must be one of HS256, HS384, HS512' })
  await t.rejects(loadConfig({ PORT: 'http', NODE_ENV: 'Production' }), { message: 'NODE_ENV must be one of development, test, production; PORT must be integer' })
})

t.test('DEBUG=maybe stops start-up naming DEBUG', async (t) => {
  await t.rejects(loadConfig({ DEBUG: 'maybe' }), /DEBUG must be one of true, false, 1, 0/)
})

t.test('CORS_ORIGINS entries are trimmed, and one that is not an http(s) origin is named', async (t) => {
  const settings = await loadConfig({ CORS_ORIGINS: ' http://localhost:3000 ,https://app.spinta.example, ' })
  t.same(settings.CORS_ORIGINS, ['http://localhost:3000', 'https://app.spinta.example'])
  await t.rejects(loadConfig({ CORS_ORIGINS: 'https://ok.example, ftp://files.example' }), /CORS_ORIGINS has "ftp:\/\/files\.example"/)
  await t.rejects(loadConfig({ CORS_ORIGINS: 'https://app.example/path' }), /CORS_ORIGINS has "https:\/\/app\.example\/path"/)
})

t.test('DATABASE_URL: postgres:// and postgresql:// are accepted, other schemes refused naming it', async (t) => {
  t.equal((await loadConfig({ DATABASE_URL: 'postgres://u:p@h:5432/d' })).DATABASE_URL, 'postgres://u:p@h:5432/d')
  t.equal((await loadConfig({ DATABASE_URL: 'postgresql://u:p@h/d?sslmode=require' })).DATABASE_URL, 'postgresql://u:p@h/d?sslmode=require')
  const refusal: Error = await loadConfig({ DATABASE_URL: 'mysql://u:mysql-password@h/d' }).then(() => t.fail('mysql:// was accepted'), (error) => error)
  t.match(refusal.message, /DATABASE_URL/)
  t.notMatch(refusal.message, /mysql-password/, 'the refusal does not print the password')
})

t.test('DATABASE_URL that is not a URL (a # in the password) stops start-up naming it, not printing it', async (t) => {
  const refusal: Error = await loadConfig({ DATABASE_URL: 'postgresql://spinta:pass#word@db.internal/spinta' })
    .then(() => t.fail('the URL was accepted'), (error) => error)
  t.match(refusal.message, /^DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL, with any # \/ \? in the password percent-encoded \(%23 %2F %3F\)$/)
  t.notMatch(refusal.message, /pass#word/, 'the refusal does not print the password')
  t.equal((await loadConfig({ DATABASE_URL: 'postgresql://spinta:pass%23word@db.internal/spinta' })).DATABASE_URL,
    'postgresql://spinta:pass%23word@db.internal/spinta', 'percent-encoded, it is accepted')
})

t.test('BODY_LIMIT_BYTES must be a positive whole number', async (t) => {
  t.equal((await loadConfig({ BODY_LIMIT_BYTES: '2048' })).BODY_LIMIT_BYTES, 2048)
  await t.rejects(loadConfig({ BODY_LIMIT_BYTES: '0' }), /BODY_LIMIT_BYTES/)
  await t.rejects(loadConfig({ BODY_LIMIT_BYTES: '1MB' }), /BODY_LIMIT_BYTES/)
})

t.test('production starts with a database URL, a long secret key and explicit origins', async (t) => {
  const settings = await loadConfig(productionEnv)
  t.equal(settings.NODE_ENV, 'production')
})

t.test('production without DATABASE_URL, SECRET_KEY or SMTP_URL stops naming the variable', async (t) => {
  await t.rejects(loadConfig({ ...productionEnv, DATABASE_URL: undefined }), /DATABASE_URL is required when NODE_ENV=production/)
  await t.rejects(loadConfig({ ...productionEnv, SECRET_KEY: undefined }), /SECRET_KEY is required when NODE_ENV=production/)
  await t.rejects(loadConfig({ ...productionEnv, SMTP_URL: undefined }), /SMTP_URL is required when NODE_ENV=production/)
  t.equal((await loadConfig({ SMTP_URL: undefined })).SMTP_URL, undefined, 'outside production mails go to the log')
})

t.test('SMTP_URL: smtp:// and smtps:// with a host; anything else stops start-up naming it, never printing it', async (t) => {
  for (const url of ['smtp://127.0.0.1:2525', 'smtps://user%40example.com:p%40ss@smtp.example.com']) t.equal((await loadConfig({ SMTP_URL: url })).SMTP_URL, url)
  for (const url of ['http://smtp.example.com', 'smtp://user:p#ss@smtp.example.com', 'not a url']) {
    const error = await loadConfig({ SMTP_URL: url }).then(() => undefined, (error: Error) => error)
    t.match(error?.message, /^SMTP_URL must be an smtp:\/\/ or smtps:\/\/ URL/, url)
    t.notMatch(error?.message, 'ss@', 'the value is not repeated')
  }
})

t.test('mail defaults: MAIL_FROM, APP_URL, token lifetimes, mail limits; APP_URL must be an http(s) URL', async (t) => {
  const settings = await loadConfig({})
  t.match(settings, {
    MAIL_FROM: 'Spinta <no-reply@localhost>',
    APP_URL: 'http://localhost:3000',
    VERIFY_EMAIL_TOKEN_EXPIRE_HOURS: 24,
    PASSWORD_RESET_TOKEN_EXPIRE_MINUTES: 30,
    MAILS_PER_ADDRESS_PER_HOUR: 5,
    MAIL_REQUESTS_PER_MINUTE: 10
  })
  await t.rejects(loadConfig({ APP_URL: 'app.example.com' }), /^APP_URL must be an http\(s\) URL/)
  await t.rejects(loadConfig({ APP_URL: 'https://app.example.com/?x=1' }), /^APP_URL must be an http\(s\) URL/)
})

t.test('production refuses a SECRET_KEY shorter in bytes than its algorithm\'s hash, or the .env.example placeholder', async (t) => {
  await t.rejects(loadConfig({ ...productionEnv, SECRET_KEY: 'x'.repeat(31) }), /SECRET_KEY must be at least 32 bytes for HS256/)
  t.equal((await loadConfig({ ...productionEnv, SECRET_KEY: 'x'.repeat(32) })).SECRET_KEY, 'x'.repeat(32), '32 bytes are enough for HS256')
  // 16 characters of two bytes each: 32 bytes, counted as bytes, not characters (RFC 7518 §3.2).
  t.equal((await loadConfig({ ...productionEnv, SECRET_KEY: 'é'.repeat(16) })).SECRET_KEY, 'é'.repeat(16), 'bytes, not characters, count')
  for (const [algorithm, bytes] of [['HS384', 48], ['HS512', 64]] as const) {
    await t.rejects(loadConfig({ ...productionEnv, ALGORITHM: algorithm, SECRET_KEY: 'x'.repeat(bytes - 1) }), new RegExp(`SECRET_KEY must be at least ${bytes} bytes for ${algorithm}`))
    t.equal((await loadConfig({ ...productionEnv, ALGORITHM: algorithm, SECRET_KEY: 'x'.repeat(bytes) })).ALGORITHM, algorithm, `${bytes} bytes are enough for ${algorithm}`)
  }
  await t.rejects(loadConfig({ ...productionEnv, SECRET_KEY: SECRET_KEY_PLACEHOLDER }), /SECRET_KEY must not be the placeholder from \.env\.example/)
})

t.test('production refuses * in CORS_ORIGINS, which development allows', async (t) => {
  await t.rejects(loadConfig({ ...productionEnv, CORS_ORIGINS: 'https://app.example,*' }), /CORS_ORIGINS must not contain \*/)
  t.same((await loadConfig({ CORS_ORIGINS: '*' })).CORS_ORIGINS, ['*'])
})

t.test('DEBUG=true in production starts, with a warning in the log', async (t) => {
  const logs = captureLogs()
  const settings = await loadConfig({ ...productionEnv, DEBUG: 'true' }, logs)
  t.equal(settings.DEBUG, true)
  const warning = logs.lines.find((line) => line.level === 40 && /DEBUG=true/.test(String(line.msg)))
  t.ok(warning, 'a warning names DEBUG=true')
  t.notMatch(logs.text(), /db-password|a-production-secret-key/, 'the log shows neither secret')
})

t.test('DEBUG=true outside production gives no production warning', async (t) => {
  const logs = captureLogs()
  await loadConfig({ DEBUG: 'true', SECRET_KEY: 'x'.repeat(32) }, logs)
  t.notOk(logs.lines.some((line) => /DEBUG=true/.test(String(line.msg))))
})
