/**
 * Whether to trace, and the tracing once started. This module imports nothing of OpenTelemetry:
 * without an OTLP endpoint the SDK (./sdk.ts) is never loaded, and costs nothing.
 */

export interface Tracing {
  /** Where spans are sent, without credentials, for the start-up log line. */
  endpoint: string
  /** pino's `mixin`: `trace_id` and `span_id` of the active span, or nothing outside a span. */
  logFields: () => Record<string, string>
  /** Sends the spans still queued and stops, giving up after `timeoutMs`. */
  shutdown: (timeoutMs: number) => Promise<void>
}

type Env = Record<string, string | undefined>

let active: Tracing | undefined

/**
 * The OTLP/HTTP URL spans go to, by the standard variables: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as
 * given, else OTEL_EXPORTER_OTLP_ENDPOINT with /v1/traces; none (tracing off) without either or
 * with OTEL_SDK_DISABLED=true. Throws on a value that is not an http(s) URL.
 * Read here, not left to the exporter: whether to load the SDK at all is decided before it loads,
 * the exporter replaces an unparsable URL with localhost:4318 after a mere diagnostic, and the
 * tracer provider used (unlike the NodeSDK) ignores OTEL_SDK_DISABLED.
 */
export function tracesEndpoint (env: Env): URL | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim()
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim()
  const [name, value] = traces
    ? ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', traces]
    : base
      ? ['OTEL_EXPORTER_OTLP_ENDPOINT', `${base.replace(/\/+$/, '')}/v1/traces`]
      : [undefined, undefined]
  if (name === undefined) return undefined
  const url = URL.canParse(value) ? new URL(value) : undefined
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new Error(`${name} must be an http:// or https:// URL (OTLP over HTTP)`)
  }
  return url
}

/**
 * Starts tracing when the environment asks for it. Called before the app's modules load: the pg
 * instrumentation can only patch pg as it is first loaded.
 */
export async function startTracing (env: Env = process.env): Promise<Tracing | undefined> {
  const endpoint = tracesEndpoint(env)
  if (endpoint === undefined) return undefined
  const { startSdk } = await import('./sdk.js')
  active = startSdk(endpoint)
  return active
}

/** The tracing startTracing started in this process, if any. */
export function activeTracing (): Tracing | undefined {
  return active
}
