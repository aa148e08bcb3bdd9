import { execFile } from 'node:child_process'
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import type { Test } from 'tap'
import { startTestDatabase, type Env } from './helper.js'
import { startTcpProxy } from './tcp-proxy.js'

const run = promisify(execFile)

export interface User { uid: number, gid: number }

const isRoot = process.getuid?.() === 0

/** As root, the user to switch to; otherwise undefined: the test already runs as a non-root user. */
export function nonRootUser (user: User): User | undefined {
  return isRoot ? user : undefined
}

/** A new directory every user can enter (mkdtemp makes it private), removed by the teardown. */
export async function tempDir (t: Test, prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix))
  await chmod(dir, 0o755)
  t.teardown(async () => {
    await run('chmod', ['-R', 'u+w', dir])
    await rm(dir, { recursive: true, force: true })
  })
  return dir
}

/** No write permission anywhere in the tree, for anyone but root (`chmod -R a-w`). */
export async function makeReadOnly (dir: string): Promise<void> {
  await run('chmod', ['-R', 'a-w', dir])
}

/**
 * A throwaway PostgreSQL reached over TCP, as a production database is: its Unix socket lives in a
 * data directory only the database's own OS user may enter.
 */
export async function startTcpDatabase (t: Test): Promise<string> {
  const database = await startTestDatabase(t)
  const proxy = await startTcpProxy(database.socketPath)
  t.teardown(() => proxy.close())
  return proxy.url(database.url)
}

/** What npm needs to run as `user`: a home and a cache it may write (npm writes its logs there). */
export async function npmUserEnv (t: Test, user: User | undefined): Promise<Env> {
  const home = await tempDir(t, 'spinta-npm-home-')
  if (user !== undefined) await chown(home, user.uid, user.gid)
  return { HOME: home, npm_config_cache: path.join(home, '.npm'), npm_config_update_notifier: 'false' }
}

/**
 * `npm <args>` in `cwd` as the test's own user, from the local npm cache when it has the packages
 * (the registry otherwise), with `env` and none of the npm settings of the `npm test` that runs this.
 */
export async function npmInstall (args: string[], cwd: string, env: Env = {}): Promise<void> {
  await run('npm', args, {
    cwd,
    env: {
      ...env,
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      npm_config_cache: process.env.npm_config_cache,
      npm_config_prefer_offline: 'true',
      npm_config_update_notifier: 'false'
    },
    maxBuffer: 16 * 1024 * 1024
  })
}

/**
 * A shell command line that runs `command` as production would: without the hook the test runner
 * puts in NODE_OPTIONS of every process a test starts, which writes into the working directory's
 * .tap/ as the process exits (a read-only tree, or another user, makes it fail the exit).
 */
export function asInProduction (command: string[]): string {
  return `exec env -u NODE_OPTIONS ${command.join(' ')}`
}

export interface Finished { code: number, stdout: string, stderr: string }

/** Runs a command to its end as in production, as `user` when given, and reports how it ended. */
export async function runToEnd (command: string[], { cwd, env, user }: { cwd: string, env: Env, user?: User }): Promise<Finished> {
  try {
    const { stdout, stderr } = await run('sh', ['-c', asInProduction(command)], { cwd, env: { PATH: process.env.PATH, ...env }, ...user, timeout: 120_000 })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const { code, stdout = '', stderr = '' } = error as { code?: number | string, stdout?: string, stderr?: string }
    return { code: typeof code === 'number' ? code : -1, stdout, stderr: stderr || String(error) }
  }
}
