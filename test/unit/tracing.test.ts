import t from 'tap'
import { activeTracing, startTracing, tracesEndpoint } from '../../src/tracing/tracing.js'

t.test('the standard OTEL_* variables choose the traces URL, or leave tracing off', async (t) => {
  t.equal(tracesEndpoint({}), undefined)
  t.equal(tracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: '' }), undefined, 'empty is unset')
  t.equal(tracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })?.href, 'http://collector:4318/v1/traces')
  t.equal(tracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector/otlp/' })?.href, 'https://collector/otlp/v1/traces')
  t.equal(tracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:4318/traces' })?.href, 'http://b:4318/traces',
    'the traces endpoint wins, used as given')
  t.equal(tracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'TRUE' }), undefined)
  t.ok(tracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'false' }))
  t.throws(() => tracesEndpoint({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'grpc://collector:4317' }), /^OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must be an http/)
})

t.test('without an endpoint nothing starts', async (t) => {
  t.equal(await startTracing({}), undefined)
  t.equal(activeTracing(), undefined)
})
