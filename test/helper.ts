import { chmod, mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import type { FastifyInstance, RouteOptions } from 'fastify'
import { buildApp as buildServerApp } from '../src/app.js'
import { startThrowawayDatabase, type EmbeddedDatabase } from '../src/database/embedded.js'
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
}

/** Builds the app exactly as the server does, with the given environment and no .env file. */
export async function buildApp (t: TestContext, env: Env, options: BuildOptions = {}): Promise<FastifyInstance> {
  const fastify = buildServerApp({ env, trustProxy: trustProxyFrom(env.TRUST_PROXY), logStream: options.logs?.stream, logLevel: 'debug' })
  // onRoute hooks take effect at once, so this one sees every route the app adds once it loads.
  if (options.onRoute !== undefined) fastify.addHook('onRoute', options.onRoute)
  if (options.extend !== undefined) fastify.register(async (child) => options.extend?.(child))
  t.teardown(() => fastify.close())
  await fastify.ready()
  return fastify
}

/** A complete environment for a test app on the given database. */
export function testEnv (database: Pick<EmbeddedDatabase, 'url'>, overrides: Env = {}): Env {
  return {
    NODE_ENV: 'test',
    DATABASE_URL: database.url,
    SECRET_KEY: 'test-secret-key-that-is-long-enough-000000',
    ...overrides
  }
}
