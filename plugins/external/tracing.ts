import fp from 'fastify-plugin'
import { activeTracing } from '../../src/tracing/tracing.js'

/** Spans still queued are sent on close; an unreachable collector holds shutdown up this long at most. */
const SHUTDOWN_TIMEOUT_MS = 2000

/**
 * OpenTelemetry tracing, when src/server.ts started it (OTEL_EXPORTER_OTLP_ENDPOINT): @fastify/otel
 * has already put itself on the server as it was created; this reports where spans go and sends
 * the last of them when the server closes.
 */
export default fp(async function tracing (fastify) {
  const tracing = activeTracing()
  if (tracing === undefined) return
  fastify.log.info({ endpoint: tracing.endpoint }, 'traces are exported over OTLP/HTTP')
  fastify.addHook('onClose', () => tracing.shutdown(SHUTDOWN_TIMEOUT_MS))
}, { name: 'tracing' })
