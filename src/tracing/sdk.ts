import { FastifyOtelInstrumentation, type FastifyOtelLifecycleHookInfo } from '@fastify/otel'
import { context, trace, type Span } from '@opentelemetry/api'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { registerInstrumentations } from '@opentelemetry/instrumentation'
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg'
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources'
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node'
import type { FastifyRequest } from 'fastify'
import { within } from '../async/within.js'
import { packageName, packageVersion } from '../project.js'
import type { Tracing } from './tracing.js'

/** The request span's name and path, as semantic conventions have them: `GET /api/users/me`, no query string. */
function nameRequestSpan (span: Span, request: FastifyRequest): void {
  const route = request.routeOptions.url
  span.updateName(route === undefined ? request.method : `${request.method} ${route}`)
  // A query string may carry anything a client put there.
  span.setAttribute('url.path', request.url.split('?', 1)[0])
}

/**
 * @fastify/otel names a handler's span after the chain of plugins its route sits in, dozens of names
 * long: `handler /api/users/me` says the same.
 */
function nameHandlerSpan (span: Span, { hookName, request }: FastifyOtelLifecycleHookInfo): void {
  const name = request.routeOptions.url === undefined ? hookName : `${hookName} ${request.routeOptions.url}`
  span.updateName(name)
  span.setAttribute('hook.name', name)
}

/**
 * The OpenTelemetry SDK: spans batched to the OTLP/HTTP endpoint (JSON), W3C trace context
 * propagated, a server span per request (@fastify/otel) and a client span per SQL statement
 * (instrumentation-pg). Batching, sampling and export timeouts follow the standard OTEL_*
 * variables; OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override the service name and version.
 */
export function startSdk (endpoint: URL): Tracing {
  const resource = defaultResource()
    .merge(resourceFromAttributes({ 'service.name': packageName, 'service.version': packageVersion }))
    .merge(detectResources({ detectors: [envDetector] }))
  const provider = new NodeTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: endpoint.href }))]
  })
  provider.register()

  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      // Statement text only: parameter values may be passwords, tokens or personal data.
      new PgInstrumentation({ enhancedDatabaseReporting: false }),
      // Registered on every Fastify instance as it is created, before any other plugin or hook, so
      // every hook and route runs inside the request's span. Hook spans are left out: a request
      // passes a dozen hooks, and the request, handler and SQL spans show where its time goes.
      new FastifyOtelInstrumentation({
        registerOnInitialization: true,
        instrumentHooks: false,
        requestHook: nameRequestSpan,
        lifecycleHook: nameHandlerSpan
      })
    ]
  })

  return {
    endpoint: `${endpoint.origin}${endpoint.pathname}`,
    logFields (): Record<string, string> {
      const span = trace.getSpan(context.active())
      // pino merges the line's own fields into the object returned: a new one each time.
      if (span === undefined) return {}
      const { traceId, spanId } = span.spanContext()
      return { trace_id: traceId, span_id: spanId }
    },
    async shutdown (timeoutMs) {
      await within(provider.shutdown().catch(() => {}), timeoutMs, () => {})
    }
  }
}
