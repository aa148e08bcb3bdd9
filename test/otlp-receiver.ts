import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** One span as OTLP/HTTP JSON carries it, its attributes flattened to plain values. */
export interface ReceivedSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  /** OTLP's SpanKind: 2 server, 3 client. */
  kind: number
  attributes: Record<string, unknown>
  resource: Record<string, unknown>
}

export interface OtlpReceiver {
  /** The base URL, for OTEL_EXPORTER_OTLP_ENDPOINT. */
  url: string
  spans: ReceivedSpan[]
  /** Every request body as sent, to search for what must never be exported. */
  bodies: string[]
  /** Resolves once the spans received so far satisfy `condition`. */
  waitFor: (condition: (spans: ReceivedSpan[]) => boolean) => Promise<void>
}

interface OtlpAttribute { key: string, value: Record<string, unknown> }
interface OtlpExport {
  resourceSpans: Array<{
    resource: { attributes: OtlpAttribute[] }
    scopeSpans: Array<{ spans: Array<Omit<ReceivedSpan, 'attributes' | 'resource'> & { attributes: OtlpAttribute[] }> }>
  }>
}

function flatten (attributes: OtlpAttribute[]): Record<string, unknown> {
  return Object.fromEntries(attributes.map(({ key, value }) => [key, Object.values(value)[0]]))
}

/**
 * An OpenTelemetry collector's OTLP/HTTP receiver, as far as the JSON trace exporter needs one:
 * POST /v1/traces on 127.0.0.1, a port of its own. With `answer: false` it takes requests and
 * never answers them, as a collector that hangs.
 */
export async function startOtlpReceiver (t: { teardown: (fn: () => unknown) => void }, { answer = true } = {}): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = []
  const bodies: string[] = []
  const waiters = new Set<() => void>()
  const server = createServer((request, response: ServerResponse) => {
    let body = ''
    request.setEncoding('utf8').on('data', (chunk: string) => { body += chunk }).on('end', () => {
      bodies.push(body)
      if (request.method === 'POST' && request.url === '/v1/traces') {
        for (const { resource, scopeSpans } of (JSON.parse(body) as OtlpExport).resourceSpans) {
          for (const { spans: scoped } of scopeSpans) {
            for (const span of scoped) spans.push({ ...span, attributes: flatten(span.attributes), resource: flatten(resource.attributes) })
          }
        }
      }
      for (const check of waiters) check()
      if (answer) response.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    return new Promise((resolve) => server.close(resolve))
  })
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    bodies,
    waitFor: (condition) => new Promise((resolve) => {
      const check = () => {
        if (!condition(spans)) return
        waiters.delete(check)
        resolve()
      }
      waiters.add(check)
      check()
    })
  }
}
