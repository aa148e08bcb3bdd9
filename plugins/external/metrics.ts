import fp from 'fastify-plugin'
import { DatabaseUnavailableError } from '../../src/database/availability.js'
import { UNMATCHED_ROUTE, createMetrics, listenForScrapes, type Metrics, type MetricsListener } from '../../src/metrics/metrics.js'

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics & {
      /** Starts the scrape listener (the server does this on METRICS_HOST:METRICS_PORT unless the port is 0). */
      listen: (host: string, port: number) => Promise<MetricsListener>
    }
  }
}

/** Prometheus metrics with prom-client: requests, refusals, the pool and the probes. */
export default fp(async function metrics (fastify) {
  const metrics = createMetrics(fastify.pg.pool)
  let listener: MetricsListener | undefined
  fastify.decorate('metrics', {
    ...metrics,
    async listen (host: string, port: number) {
      listener = await listenForScrapes(metrics.registry, host, port)
      return listener
    }
  })
  fastify.addHook('onClose', async () => listener?.close())

  const TOKEN_ROUTE = '/api/auth/token'
  // Callback hooks: they run on every request, and an async one costs a promise each time.
  fastify.addHook('onResponse', function observeRequest (request, reply, done) {
    const route = request.is404 ? UNMATCHED_ROUTE : request.routeOptions.url ?? UNMATCHED_ROUTE
    const status = String(reply.statusCode)
    metrics.requestDuration.observe({ method: request.method, route, status_code: status }, reply.elapsedTime / 1000)
    // The token endpoint refuses wrong credentials with RFC 6749's 400 invalid_grant.
    const refused = reply.statusCode === 401 || reply.statusCode === 429 || (reply.statusCode === 400 && route === TOKEN_ROUTE)
    if (refused && route.startsWith('/api/auth/')) {
      metrics.authRefusals.inc({ route, status_code: status })
    }
    done()
  })
  fastify.addHook('onError', function countRefusal (_request, _reply, error, done) {
    if ((error as { code?: string }).code === 'FST_UNDER_PRESSURE') metrics.refusals.inc({ reason: 'load_shedding' })
    else if (error instanceof DatabaseUnavailableError) metrics.refusals.inc({ reason: 'database_unavailable' })
    done()
  })
}, { name: 'metrics', dependencies: ['config', 'database'] })
