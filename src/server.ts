import { loadEnvFile } from './env-file.js'
import { exitBeforeStart } from './start-failure.js'

// The server itself (src/serve.ts) is imported only once `.env` is in process.env.
const envFileProblem = loadEnvFile()
if (envFileProblem !== undefined) exitBeforeStart(envFileProblem)
await import('./serve.js')
