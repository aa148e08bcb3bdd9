import { loadEnvFile } from './config/env-file.js'
import { exitBeforeStart } from './lifecycle/exit-before-start.js'

// Some modules read process.env as they load (LOG_LEVEL, pg's defaults): the server is imported
// only once `.env` is in it.
const envFileProblem = loadEnvFile()
if (envFileProblem !== undefined) exitBeforeStart(envFileProblem)
await import('./lifecycle/start-server.js')
