/**
 * The yardstick for `npm run bench`: the API's measured answers from raw node:http, with no
 * framework, sending the same bytes and doing the same work with the same code. What is not
 * Fastify's own (routing, schema-compiled validation and serialisation, hooks) is the API's code,
 * imported from src/ and bundled as the build bundles it:
 * - every answer carries the API's headers for that route (BENCH_HEADERS, read by the bench from
 *   the API's answers), a request id from the API's genReqId, and, but for a passing health check,
 *   the API's access line through the same pino options and buffered stdout;
 * - signed-in routes verify the bearer token with fast-jwt under the API's verifier options (its
 *   cache included) and claim checks, and find the sign-in with the user store's prepared statement;
 * - the roster checks team access and reads its page with the team stores' statements;
 * - GET /api/health runs one `SELECT 1` per request: the naive check the API's shared probe is
 *   measured against.
 * It starts as the API does in production: the database connected and its schema version read
 * before it listens.
 */
import http from 'node:http'
import { Value } from '@sinclair/typebox/value'
import { createVerifier } from 'fast-jwt'
import type { QueryResultRow } from 'pg'
import pino from 'pino'
import { accessClaims, accessTokenVerifyOptions, bearerToken, tokenStillValid } from '../src/accounts/access-token.js'
import { userStore } from '../src/accounts/user-store.js'
import { configSchema, type Config } from '../src/config/schema.js'
import type { Query } from '../src/database/availability.js'
import { readSchemaVersion } from '../src/database/migrations.js'
import { poolOptions } from '../src/database/pool.js'
import { genReqId } from '../src/http/request-id.js'
import { loggerOptions } from '../src/logging/logger.js'
import { bufferedStdout } from '../src/logging/stdout.js'
import { nextPageLink } from '../src/pagination/pagination.js'
import { checkTeamAccess, type TeamAccess } from '../src/teams/access.js'
import { playerStore } from '../src/teams/players.js'

const config = Value.Default(configSchema, { DATABASE_URL: process.env.DATABASE_URL, SECRET_KEY: process.env.SECRET_KEY }) as Config
const log = pino(loggerOptions, bufferedStdout())
const accessLog = log.child({}, { level: 'info', redact: [] })
// The API's pool, as @fastify/postgres makes it from the same options.
const { pg: pgLibrary, ...poolConfig } = poolOptions(config, config.DATABASE_URL ?? '', log)
const pool = new pgLibrary.Pool(poolConfig)
pool.on('error', () => {})
const query: Query = <Row extends QueryResultRow>(text: string, values: unknown[], name?: string) =>
  pool.query<Row>(name === undefined ? { text, values } : { name, text, values })
const users = userStore(query, { preparedStatements: true })
const players = playerStore({ query, transaction: () => { throw new Error('the yardstick only reads') } })
const roster: TeamAccess = { roles: ['coach', 'staff', 'guardian'] }

const verify = createVerifier({ key: config.SECRET_KEY!, ...accessTokenVerifyOptions(config) })
const lifetime = config.ACCESS_TOKEN_EXPIRE_MINUTES * 60

/** route → the API's headers for it, in its order */
const routeHeaders: Record<string, Record<string, string>> = JSON.parse(process.env.BENCH_HEADERS ?? '{}')
const welcome = JSON.stringify({ message: 'Welcome to Spinta Backend API', docs: '/docs', redoc: '/redoc' })
const connected = JSON.stringify({ status: 'healthy', database: 'connected' })
const disconnected = JSON.stringify({ status: 'healthy', database: 'disconnected' })
const rosterPath = /^\/api\/teams\/([^/?]+)\/players(?:\?|$)/

class Refused extends Error {
  constructor (readonly statusCode: number, readonly body: string) { super(body) }
}

function send (req: http.IncomingMessage, res: http.ServerResponse, started: number, route: string, status: number, body: string, extra: Record<string, string> = {}): void {
  const requestId = genReqId(req)
  res.writeHead(status, { 'x-request-id': requestId, ...routeHeaders[route], ...extra, 'content-length': Buffer.byteLength(body) })
  res.end(body)
  if (route === '/api/health' && status < 400) return
  accessLog.info({ requestId, method: req.method, url: req.url, statusCode: status, responseTime: performance.now() - started }, 'request completed')
}

const invalidToken = JSON.stringify({ detail: 'Could not validate credentials' })

async function signedInUser (authorization: string | undefined) {
  const token = authorization === undefined ? undefined : bearerToken(authorization)
  if (token === undefined) throw new Refused(401, invalidToken)
  let claims
  try {
    claims = accessClaims(verify(token), lifetime)
  } catch {
    throw new Refused(401, invalidToken)
  }
  if (claims === undefined) throw new Refused(401, invalidToken)
  const found = await users.findBySession(claims.sid)
  if (!tokenStillValid(claims, found)) throw new Refused(401, invalidToken)
  if (!found.user.is_active) throw new Refused(403, JSON.stringify({ detail: 'This account is deactivated' }))
  return found.user
}

async function me (req: http.IncomingMessage): Promise<string> {
  const { id, email, full_name: fullName, is_active: isActive, email_verified: emailVerified, created_at: createdAt } = await signedInUser(req.headers.authorization)
  return JSON.stringify({ id, email, full_name: fullName, is_active: isActive, email_verified: emailVerified, created_at: createdAt })
}

async function rosterPage (req: http.IncomingMessage, teamId: string): Promise<{ body: string, link?: string }> {
  const user = await signedInUser(req.headers.authorization)
  const membership = await checkTeamAccess(query, user.id, { team_id: teamId }, roster)
  const search = new URLSearchParams(req.url!.split('?', 2)[1] ?? '')
  const limit = search.get('limit')
  const page = await players.list(membership.teamId, {
    limit: limit === null ? undefined : Number(limit),
    cursor: search.get('cursor') ?? undefined,
    sort: search.get('sort') ?? undefined
  }, { position: search.get('position') ?? undefined })
  return {
    body: JSON.stringify({ items: page.items, next_cursor: page.next_cursor }),
    link: page.next_cursor === null ? undefined : nextPageLink(req.url!, page.next_cursor)
  }
}

function refusal (req: http.IncomingMessage, res: http.ServerResponse, started: number, route: string, error: unknown): void {
  if (error instanceof Refused) send(req, res, started, route, error.statusCode, error.body)
  else send(req, res, started, route, 500, JSON.stringify({ detail: (error as Error).message }))
}

const server = http.createServer((req, res) => {
  const started = performance.now()
  if (req.method !== 'GET') {
    send(req, res, started, '', 405, '{"detail":"Method Not Allowed"}')
  } else if (req.url === '/') {
    send(req, res, started, '/', 200, welcome)
  } else if (req.url === '/api/health') {
    pool.query('SELECT 1').then(() => send(req, res, started, '/api/health', 200, connected), () => send(req, res, started, '/api/health', 200, disconnected))
  } else if (req.url === '/api/users/me') {
    me(req).then((body) => send(req, res, started, '/api/users/me', 200, body), (error) => refusal(req, res, started, '/api/users/me', error))
  } else {
    const teamId = rosterPath.exec(req.url ?? '')?.[1]
    if (teamId === undefined) {
      send(req, res, started, '', 404, '{"detail":"Not Found"}')
    } else {
      rosterPage(req, teamId).then(({ body, link }) => send(req, res, started, 'roster', 200, body, link === undefined ? {} : { link }), (error) => refusal(req, res, started, 'roster', error))
    }
  }
})

const client = await pool.connect()
try {
  const { current, latest } = await readSchemaVersion(client)
  if (current < latest) throw new Error(`the database schema is at version ${current}, not ${latest}`)
} finally {
  client.release()
}
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  log.info(`Server listening at http://127.0.0.1:${(server.address() as { port: number }).port}`)
  log.flush()
})

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.close()
    server.closeAllConnections()
    log.flush()
    pool.end().finally(() => process.exit(0))
  })
}
