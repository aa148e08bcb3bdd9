// One load run for `npm run bench`, in a process of its own so the load generator never shares an
// event loop with what it measures: autocannon, with every answer's latency kept in microseconds
// (autocannon's own percentiles are whole milliseconds, too coarse to compare p99s of 1-3 ms).
// Usage: node bench/load.js URL CONNECTIONS SECONDS [AUTHORIZATION]; prints one JSON object.
import autocannon from 'autocannon'

const [url, connections, seconds, authorization] = process.argv.slice(2)
const latenciesMicros = []

const instance = autocannon({
  url,
  connections: Number(connections),
  duration: Number(seconds),
  headers: authorization === undefined ? {} : { authorization }
}, (error, result) => {
  if (error) throw error
  latenciesMicros.sort((a, b) => a - b)
  const percentile = (p) => latenciesMicros.length === 0 ? 0 : latenciesMicros[Math.min(latenciesMicros.length - 1, Math.floor(latenciesMicros.length * p))]
  process.stdout.write(JSON.stringify({
    requestsPerSecond: result.requests.average,
    requests: result.requests.total,
    p50Micros: percentile(0.5),
    p99Micros: percentile(0.99),
    maxMicros: latenciesMicros.at(-1) ?? 0,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count]))
  }) + '\n')
})
instance.on('response', (_client, _statusCode, _bytes, milliseconds) => {
  latenciesMicros.push(Math.round(milliseconds * 1000))
})
