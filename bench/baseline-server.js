// The yardstick for `npm run bench`: the same two answers as the API with no framework, no
// logging and no hooks. Plain JavaScript so it runs on bare `node`, without a TypeScript loader
// adding start-up time and memory to the figures it is compared with.
import http from 'node:http'
import pg from 'pg'

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 15 })
pool.on('error', () => {})

const welcome = JSON.stringify({ message: 'Welcome to Spinta Backend API', docs: '/docs', redoc: '/redoc' })
const connected = JSON.stringify({ status: 'healthy', database: 'connected' })
const disconnected = JSON.stringify({ status: 'healthy', database: 'disconnected' })

function send (res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) })
  res.end(body)
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/') {
    send(res, 200, welcome)
  } else if (req.method === 'GET' && req.url === '/api/health') {
    // One query per request: the naive health check the API's shared probe is measured against.
    pool.query('SELECT 1').then(() => send(res, 200, connected), () => send(res, 200, disconnected))
  } else {
    send(res, 404, '{"detail":"Not Found"}')
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
