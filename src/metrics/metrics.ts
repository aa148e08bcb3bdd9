import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Pool } from 'pg'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

/** The route label of requests that matched no route: one series, whatever URL the client sent. */
export const UNMATCHED_ROUTE = 'unmatched'

export interface Metrics {
  registry: Registry
  /** Seconds from request to response, by method, route template and status code. */
  requestDuration: Histogram<'method' | 'route' | 'status_code'>
  /** Requests refused before their route ran: load shedding, or an unreachable database. */
  refusals: Counter<'reason'>
  /** Sign-in and registration attempts refused: 401 (wrong credentials) or 429 (over a limit). */
  authRefusals: Counter<'route' | 'status_code'>
  /** Readiness answers by outcome. */
  probeOutcomes: Counter<'outcome'>
  /** Seconds the shared `SELECT 1` took, or was waited for, by whether it answered. */
  probeDuration: Histogram<'ok'>
}

/** The app's Prometheus metrics, with prom-client's default process and Node metrics, in a registry of its own. */
export function createMetrics (pool: Pool): Metrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const registers = [registry]

  // Read from the pool when scraped, so they cost nothing between scrapes.
  registry.registerMetric(new Gauge({
    name: 'db_pool_connections',
    help: 'Pooled database connections: total open, idle, and callers waiting for one',
    labelNames: ['state'],
    registers: [],
    collect () {
      this.set({ state: 'total' }, pool.totalCount)
      this.set({ state: 'idle' }, pool.idleCount)
      this.set({ state: 'waiting' }, pool.waitingCount)
    }
  }))
  registry.registerMetric(new Gauge({
    name: 'db_pool_max_connections',
    help: 'The most connections the pool opens (DATABASE_POOL_MAX)',
    registers: [],
    collect () { this.set(pool.options.max ?? 10) }
  }))

  return {
    registry,
    requestDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time from request to response, by method, route template and status code',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers
    }),
    refusals: new Counter({
      name: 'http_refusals_total',
      help: 'Requests answered 503 before their route could run, by reason (load_shedding, database_unavailable)',
      labelNames: ['reason'],
      registers
    }),
    authRefusals: new Counter({
      name: 'auth_refusals_total',
      help: 'Sign-in and registration attempts refused, by route and status code (400 at the token endpoint: an OAuth error such as wrong credentials; 429 over a limit)',
      labelNames: ['route', 'status_code'],
      registers
    }),
    probeOutcomes: new Counter({
      name: 'readiness_probe_total',
      help: 'Readiness answers by outcome (pass, warn, fail)',
      labelNames: ['outcome'],
      registers
    }),
    probeDuration: new Histogram({
      name: 'database_probe_duration_seconds',
      help: 'Time the shared SELECT 1 took, or was waited for, by whether the database answered',
      labelNames: ['ok'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers
    })
  }
}

export interface MetricsListener {
  /** Where it listens, once listening. */
  address: () => AddressInfo
  close: () => Promise<void>
}

/**
 * `GET /metrics` in Prometheus' text format on a listener of its own, apart from the public port,
 * so whatever exposes the API does not expose these.
 */
export async function listenForScrapes (registry: Registry, host: string, port: number): Promise<MetricsListener> {
  const server: Server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?', 1)[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found: metrics are at GET /metrics\n')
      return
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => response.writeHead(500, { 'content-type': 'text/plain' }).end('Metrics could not be collected\n')
    )
  })
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve))
  return {
    address: () => server.address() as AddressInfo,
    close: () => new Promise((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
  }
}
