// The yardstick for `npm run bench`: the API's three measured answers from raw node:http, with no
// framework, logging or hooks, sending the same bytes and doing the same work:
// - every answer carries the API's own response headers for that route (BENCH_HEADERS, read by the
//   bench from the API's answers) and a fresh request id;
// - GET /api/health runs one `SELECT 1` per request: the naive check the API's shared probe is
//   measured against;
// - GET /api/users/me verifies the bearer token with fast-jwt (HS256 and SECRET_KEY, as the API),
//   reads the user by primary key, checks its token version and answers the same JSON.
// Plain JavaScript, so it runs on bare `node` without a TypeScript loader in its figures.
import { randomUUID } from 'node:crypto'
import http from 'node:http'
import { createVerifier } from 'fast-jwt'
import pg from 'pg'

// The API's default DATABASE_POOL_MAX.
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 15 })
pool.on('error', () => {})

/** @type {Record<string, Record<string, string>>} route → the API's headers for it, in its order */
const routeHeaders = JSON.parse(process.env.BENCH_HEADERS ?? '{}')
const verify = createVerifier({ key: process.env.SECRET_KEY, algorithms: ['HS256'] })

const welcome = JSON.stringify({ message: 'Welcome to Spinta Backend API', docs: '/docs', redoc: '/redoc' })
const connected = JSON.stringify({ status: 'healthy', database: 'connected' })
const disconnected = JSON.stringify({ status: 'healthy', database: 'disconnected' })
const unauthorized = JSON.stringify({ detail: 'Could not validate credentials' })

function send (res, route, status, body) {
  res.writeHead(status, { 'x-request-id': randomUUID(), ...routeHeaders[route], 'content-length': Buffer.byteLength(body) })
  res.end(body)
}

async function currentUser (authorization) {
  const { sub, ver } = verify(authorization?.startsWith('Bearer ') ? authorization.slice(7) : '')
  const { rows: [row] } = await pool.query('SELECT id, email, full_name, is_active, email_verified_at IS NOT NULL AS email_verified, created_at, token_version FROM users WHERE id = $1', [sub])
  if (row === undefined || row.token_version !== (ver ?? 0) || !row.is_active) throw new Error('refused')
  return JSON.stringify({ id: row.id, email: row.email, full_name: row.full_name, is_active: row.is_active, email_verified: row.email_verified, created_at: row.created_at })
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/') {
    send(res, '/', 200, welcome)
  } else if (req.method === 'GET' && req.url === '/api/health') {
    pool.query('SELECT 1').then(() => send(res, '/api/health', 200, connected), () => send(res, '/api/health', 200, disconnected))
  } else if (req.method === 'GET' && req.url === '/api/users/me') {
    currentUser(req.headers.authorization).then((body) => send(res, '/api/users/me', 200, body), () => send(res, '/api/users/me', 401, unauthorized))
  } else {
    send(res, req.url, 404, '{"detail":"Not Found"}')
  }
})

// Like the API, it answers only once the database has answered once.
await pool.query('SELECT 1')
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`Server listening at http://127.0.0.1:${server.address().port}\n`)
})

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.close()
    server.closeAllConnections()
    pool.end().finally(() => process.exit(0))
  })
}
