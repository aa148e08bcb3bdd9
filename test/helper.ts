import { chmod, mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import type { FastifyInstance, RouteOptions } from 'fastify'
import pg from 'pg'
import { buildApp as buildServerApp } from '../src/app.js'
import { startThrowawayDatabase, type EmbeddedDatabase } from '../src/database/embedded.js'
import { migrate } from '../src/database/migrations.js'
import { trustProxyFrom } from '../src/http/trust-proxy.js'

/** The part of tap's Test this helper needs. */
interface TestContext {
  teardown: (fn: () => unknown) => void
}

export type Env = Record<string, string | undefined>

/** A throwaway PostgreSQL cluster for one test file, removed when the file's tests end. */
export async function startTestDatabase (t: TestContext): Promise<EmbeddedDatabase> {
  const database = await startThrowawayDatabase()
  t.teardown(() => database.destroy())
  return database
}

export interface SharedDatabase {
  database: EmbeddedDatabase
  /** A connection of its own, for setting up and inspecting rows behind the apps' backs. */
  admin: pg.Client
  /** A complete environment for an app on this database. */
  env: (overrides?: Env) => Env
}

/**
 * A throwaway database with the schema migrated, for a test file whose apps all share it. Sign-in
 * limits count in that database, so each test of the file starts with none spent.
 */
export async function startSharedDatabase (t: TestContext & { beforeEach: (fn: () => unknown) => void }, defaults: Env = {}): Promise<SharedDatabase> {
  const database = await startTestDatabase(t)
  const admin = new pg.Client({ connectionString: database.url })
  await admin.connect()
  t.teardown(() => admin.end())
  await migrate(admin)
  t.beforeEach(async () => { await admin.query('TRUNCATE rate_limits') })
  return { database, admin, env: (overrides = {}) => testEnv(database, { ...defaults, ...overrides }) }
}

/**
 * A new temporary directory for an embedded database's data. mkdtemp makes it private to this
 * user; as root the database runs as the `postgres` OS user, which must be able to enter it.
 */
export async function databaseParentDir (): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'spinta-embedded-'))
  await chmod(dir, 0o755)
  return dir
}

/** Collects the app's log lines (as parsed JSON) for tests that assert on logging. */
export function captureLogs (): { stream: Writable, lines: Array<Record<string, unknown>>, text: () => string } {
  const raw: string[] = []
  const stream = new Writable({
    write (chunk, _encoding, done) {
      raw.push(chunk.toString())
      done()
    }
  })
  return {
    stream,
    get lines () { return raw.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line)) },
    text: () => raw.join('')
  }
}

export interface BuildOptions {
  /** Routes a test adds to the app before it starts. */
  extend?: (fastify: FastifyInstance) => void
  /** Sees every route as the app adds it (an onRoute hook registered before the app). */
  onRoute?: (route: RouteOptions) => void
  logs?: { stream: Writable }
  /** The clock mailed tokens expire by (the system's by default). */
  now?: () => Date
  /** Gets the answers whose status the document does not show for their operation; by default the test fails naming them. */
  onUndocumented?: (answers: string[]) => void
}

/**
 * Builds the app exactly as the server does, with the given environment and no .env file. When
 * the test ends, every status the app's operations answered during it must be documented for that
 * operation in the app's own OpenAPI document.
 */
export async function buildApp (t: TestContext, env: Env, options: BuildOptions = {}): Promise<FastifyInstance> {
  // The first app of a test file compiles every source file on load, which on a busy machine can
  // outlast Fastify's 10 s plugin timeout; a longer bound still catches a plugin that never starts.
  const fastify = buildServerApp({ env, trustProxy: trustProxyFrom(env.TRUST_PROXY), logStream: options.logs?.stream, logLevel: 'debug', now: options.now, overrides: { pluginTimeout: 120_000 } })
  // onRoute hooks take effect at once, so this one sees every route the app adds once it loads.
  if (options.onRoute !== undefined) fastify.addHook('onRoute', options.onRoute)
  const answers = recordAnswers(fastify)
  if (options.extend !== undefined) {
    fastify.register(async (child) => {
      child.addHook('onRoute', ({ method, url }) => { for (const name of [method].flat()) answers.testRoutes.add(`${name} ${url}`) })
      options.extend?.(child)
    })
  }
  t.teardown(async () => {
    try {
      const undocumented = undocumentedAnswers(fastify, answers)
      if (options.onUndocumented !== undefined) options.onUndocumented(undocumented)
      else if (undocumented.length > 0) throw new Error(`Statuses the tests produced are missing from the OpenAPI document:\n${undocumented.join('\n')}`)
    } finally {
      await fastify.close()
    }
  })
  await fastify.ready()
  return fastify
}

interface Answers {
  /** `METHOD route status` of every answer of a documented route. */
  seen: Set<string>
  /** `METHOD route` of the routes a test added (BuildOptions.extend): they are not the API's. */
  testRoutes: Set<string>
}

/** Records the status of every answer of a route that the document shows (hidden ones are not). */
function recordAnswers (fastify: FastifyInstance): Answers {
  const answers: Answers = { seen: new Set(), testRoutes: new Set() }
  fastify.addHook('onResponse', (request, reply, done) => {
    // Unknown routes (404, 405) have no route, and so no operation to document them.
    const { url, schema } = request.routeOptions
    if (url !== undefined && !request.is404 && schema?.hide !== true) answers.seen.add(`${request.method} ${url} ${reply.statusCode}`)
    done()
  })
  return answers
}

function undocumentedAnswers (fastify: FastifyInstance, { seen, testRoutes }: Answers): string[] {
  if (seen.size === 0) return []
  const paths = (fastify.swagger() as { paths?: Record<string, Record<string, { operationId?: string, responses: Record<string, unknown> }>> }).paths ?? {}
  const undocumented: string[] = []
  for (const answer of seen) {
    const [method, url, status] = answer.split(' ')
    if (testRoutes.has(`${method} ${url}`)) continue
    // A GET route's HEAD twin is documented as the GET.
    const operationMethod = method === 'HEAD' ? 'get' : method.toLowerCase()
    const operation = paths[url.replace(/:(\w+)/g, '{$1}')]?.[operationMethod]
    if (operation === undefined) undocumented.push(`${method} ${url} answered ${status}, and the document has no operation for it`)
    else if (operation.responses[status] === undefined) {
      undocumented.push(`${method} ${url} (${operation.operationId}) answered ${status}, which its operation does not document`)
    }
  }
  return undocumented
}

/**
 * The SMTP_URL production requires, for tests that read no mail: port 9 (discard) on loopback, where
 * nothing listens, so a queued mail is only retried in the background.
 */
export const NOWHERE_SMTP_URL = 'smtp://127.0.0.1:9'

/** A complete environment for a test app on the given database. */
export function testEnv (database: Pick<EmbeddedDatabase, 'url'>, overrides: Env = {}): Env {
  return {
    NODE_ENV: 'test',
    DATABASE_URL: database.url,
    SECRET_KEY: 'test-secret-key-that-is-long-enough-000000',
    ...overrides
  }
}
