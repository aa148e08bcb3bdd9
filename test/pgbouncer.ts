import { execFile, spawn } from 'node:child_process'
import { access, chown, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { databaseParentDir } from './helper.js'

const run = promisify(execFile)

/** Where Debian's package (and most others) put it; /usr/sbin is not on a normal user's PATH. */
const candidates = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer', '/opt/homebrew/bin/pgbouncer']

/** The port only names PgBouncer's socket file: it listens on no TCP port, so test files never compete for one. */
const SOCKET_PORT = 6432

export interface PgBouncer {
  /** The database URL `databaseUrl` (the embedded cluster's), pointed at PgBouncer. */
  url: (databaseUrl: string) => string
  /** PgBouncer's log lines so far. */
  log: () => string
}

export interface PgBouncerOptions {
  /** Server connections per database and user: with 1, every client shares one, so state one leaves behind is seen by the next. */
  poolSize?: number
}

/**
 * A real PgBouncer in transaction mode in front of the embedded PostgreSQL at `databaseUrl`, as
 * hosted poolers run it, stopped when the test `t` ends. It runs as the `postgres` OS user when this
 * process is root (PgBouncer refuses root). A missing PgBouncer fails the test, saying how to install it.
 */
export async function startPgBouncer (t: { teardown: (fn: () => unknown) => void }, databaseUrl: string, { poolSize = 1 }: PgBouncerOptions = {}): Promise<PgBouncer> {
  const binary = await findPgBouncer()
  const database = new URL(databaseUrl)
  const socketDir = database.searchParams.get('host')
  if (socketDir === null) throw new Error('startPgBouncer needs the embedded database\'s URL, with ?host=<socket directory>')

  const dir = await databaseParentDir()
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const config = path.join(dir, 'pgbouncer.ini')
  const quote = (value: string) => `"${value.replaceAll('"', '""')}"`
  await writeFile(path.join(dir, 'users.txt'), `${quote(decodeURIComponent(database.username))} ${quote(decodeURIComponent(database.password))}\n`, { mode: 0o600 })
  await writeFile(config, [
    '[databases]',
    `* = host=${socketDir} port=5432`,
    '[pgbouncer]',
    `unix_socket_dir = ${dir}`,
    `listen_port = ${SOCKET_PORT}`,
    'pool_mode = transaction',
    `default_pool_size = ${poolSize}`,
    'max_client_conn = 200',
    'auth_type = scram-sha-256',
    `auth_file = ${path.join(dir, 'users.txt')}`,
    ''
  ].join('\n'), { mode: 0o600 })

  const asRoot = process.getuid?.() === 0
  if (asRoot) {
    const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim())
    const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim())
    for (const file of [dir, config, path.join(dir, 'users.txt')]) await chown(file, uid, gid)
  }
  const child = asRoot ? spawn('runuser', ['-u', 'postgres', '--', binary, config]) : spawn(binary, [config])
  let output = ''
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await exited
  })
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes('process up:')) resolve()
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`PgBouncer exited (code ${code}) before it was up:\n${output}`)))
  })

  return {
    url (databaseUrl) {
      const url = new URL(databaseUrl)
      url.port = String(SOCKET_PORT)
      url.searchParams.set('host', dir)
      return url.href
    },
    log: () => output
  }
}

async function findPgBouncer (): Promise<string> {
  for (const candidate of candidates) {
    if (await access(candidate).then(() => true, () => false)) return candidate
  }
  const found = await run('sh', ['-c', 'command -v pgbouncer']).then(({ stdout }) => stdout.trim(), () => '')
  if (found !== '') return found
  throw new Error('PgBouncer is not installed: install it (Debian/Ubuntu: apt-get install -y pgbouncer; macOS: brew install pgbouncer)')
}
