import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance, type RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import app, { serverOptions } from '../src/app.js'
import { startEmbeddedDatabase, type EmbeddedDatabase } from '../src/embedded-database.js'
import { loggerOptions } from '../src/logger.js'
import { trustProxyFrom } from '../src/trust-proxy.js'

/** The part of tap's Test this helper needs. */
interface TestContext {
  teardown: (fn: () => unknown) => void
}

export type Env = Record<string, string | undefined>

/** A throwaway PostgreSQL cluster for one test file, removed when the file's tests end. */
export async function startTestDatabase (t: TestContext): Promise<EmbeddedDatabase> {
  const dir = await mkdtemp(path.join(tmpdir(), 'spinta-test-db-'))
  const database = await startEmbeddedDatabase({ dataDir: path.join(dir, 'data') })
  t.teardown(async () => {
    await database.stop()
    await rm(dir, { recursive: true, force: true })
  })
  return database
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

/** Builds the app exactly as src/serve.ts does, with the given environment and no .env file. */
export async function buildApp (t: TestContext, env: Env, options: BuildOptions = {}): Promise<FastifyInstance> {
  const fastify = Fastify({
    ...serverOptions,
    trustProxy: trustProxyFrom(env.TRUST_PROXY),
    logger: options.logs === undefined ? false : { ...loggerOptions, level: 'debug', stream: options.logs.stream }
  })
  if (options.onRoute !== undefined) fastify.addHook('onRoute', options.onRoute)
  fastify.register(fp(app), { env })
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
