import { chmod, mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import type { FastifyInstance, RouteOptions } from 'fastify'
import pg from 'pg'
import { buildApp as buildServerApp, type ServerOptions } from '../src/app.js'
import { startThrowawayDatabase, type EmbeddedDatabase } from '../src/database/embedded.js'
import { migrate } from '../src/database/migrations.js'
import { trustProxyFrom } from '../src/http/trust-proxy.js'

/** The part of tap's Test this helper needs. */
interface TestContext {
  teardown: (fn: () => unknown) => void
  fail: (message: string) => unknown
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
  extend?: (fastify: FastifyInstance) => unknown
  /** Sees every route as the app adds it (an onRoute hook registered before the app). */
  onRoute?: (route: RouteOptions) => void
  logs?: { stream: Writable }
  /** The logger's level; debug by default, so tests see every line. */
  logLevel?: string
  /** Gets each answer whose status the document does not show for its operation, as it is sent; by default the test fails there, naming it. */
  onUndocumented?: (answer: string) => void
  /** Server options to change, such as shorter timeouts. */
  server?: ServerOptions['overrides']
  /** The clock mailed tokens expire by (the system's by default). */
  now?: () => Date
}

/**
 * Builds the app exactly as the server does (every plugin on), with the given environment and no
 * .env file. Every status the app's operations answer must be documented for that operation in
 * the app's own OpenAPI document: an answer that is not fails the test as it is sent.
 */
export async function buildApp (t: TestContext, env: Env, options: BuildOptions = {}): Promise<FastifyInstance> {
  const fastify = buildServerApp({ env, trustProxy: trustProxyFrom(env.TRUST_PROXY), logStream: options.logs?.stream, logLevel: options.logLevel ?? 'debug', now: options.now, overrides: options.server })
  // onRoute hooks take effect at once, so this one sees every route the app adds once it loads.
  if (options.onRoute !== undefined) fastify.addHook('onRoute', options.onRoute)
  const testRoutes = new Set<string>()
  if (options.extend !== undefined) {
    fastify.register(async (child) => {
      child.addHook('onRoute', ({ method, url }) => { for (const name of [method].flat()) testRoutes.add(`${name} ${url}`) })
      // Not awaited as such: a route shorthand returns the instance, which is a thenable.
      const extended = options.extend?.(child)
      if (extended instanceof Promise) await extended
    })
  }
  const report = options.onUndocumented ?? ((answer: string) => t.fail(`a status missing from the OpenAPI document: ${answer}`))
  fastify.addHook('onResponse', (request, reply, done) => {
    // Unknown routes (404, 405) have no route, and so no operation to document them.
    const { url, schema } = request.routeOptions
    if (url !== undefined && !request.is404 && schema?.hide !== true && !testRoutes.has(`${request.method} ${url}`)) {
      const undocumented = undocumentedAnswer(fastify, request.method, url, reply.statusCode)
      if (undocumented !== undefined) report(undocumented)
    }
    done()
  })
  t.teardown(() => fastify.close())
  await fastify.ready()
  return fastify
}

type Paths = Record<string, Record<string, { operationId?: string, responses: Record<string, unknown> }>>

/** What is wrong when `method url` answers `status`: undefined when its operation documents it. */
function undocumentedAnswer (fastify: FastifyInstance, method: string, url: string, status: number): string | undefined {
  const paths = (fastify.swagger() as { paths?: Paths }).paths ?? {}
  // A GET route's HEAD twin is documented as the GET.
  const operationMethod = method === 'HEAD' ? 'get' : method.toLowerCase()
  const operation = paths[url.replace(/:(\w+)/g, '{$1}')]?.[operationMethod]
  if (operation === undefined) return `${method} ${url} answered ${status}, and the document has no operation for it`
  if (operation.responses[status] === undefined) return `${method} ${url} (${operation.operationId}) answered ${status}, which its operation does not document`
  return undefined
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
    // Shedding answers for how busy the machine running the tests is, not for the app: only the
    // tests about it turn it on.
    LOAD_SHEDDING_MAX_EVENT_LOOP_DELAY_MS: '0',
    ...overrides
  }
}
