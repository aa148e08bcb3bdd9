// A second yardstick for `npm run bench`: the least any Fastify app meeting this API's rules can
// do per request. Fastify with the same two routes and response schemas, the security headers
// every response must carry (the API's own built plugin), and a health answer that shares one
// in-flight `SELECT 1`; no logger, request ids, CORS or load shedding. Where the API falls short of
// a target, this row shows whether the framework alone could meet it.
// With BENCH_SECURITY_HEADERS=off it leaves out the security headers too: Fastify itself, the
// "Fastify alone" row, which tells what the framework costs from what the required headers add.
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import Fastify from 'fastify'
import pg from 'pg'

// The API's build: where bench/run.ts built it (BENCH_DIST), or dist/.
const dist = process.env.BENCH_DIST ?? fileURLToPath(new URL('../dist', import.meta.url))

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 15 })
pool.on('error', () => {})

const app = Fastify({ logger: false })
if (process.env.BENCH_SECURITY_HEADERS !== 'off') {
  const { default: securityHeaders } = await import(pathToFileURL(path.join(dist, 'plugins', 'app', 'security-headers.js')).href)
  await app.register(securityHeaders)
}

const text = { type: 'string' }
const welcome = { type: 'object', properties: { message: text, docs: text, redoc: text } }
app.get('/', { schema: { response: { 200: welcome } } }, async () => ({ message: 'Welcome to Spinta Backend API', docs: '/docs', redoc: '/redoc' }))

let inFlight
function checkDatabase () {
  inFlight ??= pool.query('SELECT 1').then(() => true, () => false).finally(() => { inFlight = undefined })
  return inFlight
}
const health = { type: 'object', properties: { status: text, database: text } }
app.get('/api/health', { schema: { response: { 200: health } } }, async () => ({
  status: 'healthy',
  database: await checkDatabase() ? 'connected' : 'disconnected'
}))

// Like the API, it answers only once the database has answered once.
await pool.query('SELECT 1')
const address = await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' })
process.stdout.write(`Server listening at ${address}\n`)

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    app.close().then(() => pool.end()).finally(() => process.exit(0))
  })
}
