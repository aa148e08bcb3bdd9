import { loadEnvFile } from './config/env-file.js'
import { exitBeforeStart } from './lifecycle/exit-before-start.js'
import { startTracing } from './tracing/tracing.js'

// Some modules read process.env as they load (LOG_LEVEL, pg's defaults): the server is imported
// only once `.env` is in it. Tracing starts in between: OTEL_* may come from `.env`, and pg is
// instrumented only if it loads after the instrumentation.
const envFileProblem = loadEnvFile()
if (envFileProblem !== undefined) exitBeforeStart(envFileProblem)
await startTracing().catch((error: Error) => exitBeforeStart(error.message))
await import('./lifecycle/start-server.js')
