import { loadEnvFile } from './env-file.js'

const usage = `Usage: npm run migrate [-- <version>]

Moves the database schema to the latest version in migrations/, or to <version>
(lower versions undo migrations; 0 undoes them all). Reads DATABASE_URL like the
server does (environment, then .env); without it, outside production, it migrates
the embedded PostgreSQL in EMBEDDED_DATABASE_DIR, the one the server starts.
Concurrent runs are safe: each waits for the one in progress.
`

const argument = process.argv[2]
if (argument === '-h' || argument === '--help') {
  process.stdout.write(usage)
  process.exit(0)
}
const target = argument === undefined || argument === 'latest' ? undefined : Number(argument)
if (target !== undefined && !(/^\d+$/.test(argument ?? '') && Number.isSafeInteger(target))) {
  process.stderr.write(`migrate: "${argument}" is not a version number\n\n${usage}`)
  process.exit(2)
}

const envFileProblem = loadEnvFile()
if (envFileProblem !== undefined) {
  process.stderr.write(`migrate: ${envFileProblem}\n`)
  process.exit(1)
}
const { migrateDatabase } = await import('./migrate-command.js')
await migrateDatabase(target)
