import { spawn, type ChildProcess } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Env } from './helper.js'

const serverEntry = fileURLToPath(new URL('../src/server.ts', import.meta.url))

export interface SpawnedServer {
  child: ChildProcess
  stdout: () => string
  stderr: () => string
  /** Resolves with the address once the server logs that it listens. */
  listening: Promise<string>
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

/** What the test runner's loaders need in a child: TypeScript and coverage settings, nothing of the app's. */
export function testRunnerEnv (): Env {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => /^(TS_NODE_|_TAPJS_|TAP_|NODE_V8_COVERAGE$)/.test(name)))
}

export interface SpawnOptions {
  /** Node's arguments instead of src/server.ts (a built server): plain node, no TypeScript, no coverage. */
  nodeArgs?: string[]
  /** A command for `sh -c` instead, as npm runs a script: no TypeScript, no coverage. */
  shellCommand?: string
  /** The content of a `.env` in the server's working directory; `unreadable` makes it a directory. */
  envFile?: string | { unreadable: true }
  /** The working directory instead of a new empty one (a release's top folder). */
  cwd?: string
  /** Run as this user and group (the test must be root to switch). */
  user?: { uid: number, gid: number }
}

/**
 * Runs src/server.ts as production does, in its own process, from an empty working directory so
 * no developer's `.env` is read. Only the given variables (plus PATH and the runner's) reach it.
 */
export async function spawnServer (t: { teardown: (fn: () => unknown) => void }, env: Env, { nodeArgs, shellCommand, envFile, cwd: givenCwd, user }: SpawnOptions = {}): Promise<SpawnedServer> {
  const cwd = givenCwd ?? await mkdtemp(path.join(tmpdir(), 'spinta-server-'))
  if (typeof envFile === 'string') await writeFile(path.join(cwd, '.env'), envFile)
  else if (envFile?.unreadable === true) await mkdir(path.join(cwd, '.env'))
  // The test runner's own loaders (TypeScript, coverage) load the server too, so its coverage counts.
  const plain = { _TAPJS_PROCESSINFO_COVERAGE_: '0' }
  const [file, args, runnerEnv] = shellCommand !== undefined
    ? ['sh', ['-c', shellCommand], plain]
    : nodeArgs !== undefined
      ? [process.execPath, nodeArgs, plain]
      : [process.execPath, [...process.execArgv, serverEntry], { ...testRunnerEnv(), FASTIFY_AUTOLOAD_TYPESCRIPT: '1' }]
  const child = spawn(file, args, {
    cwd,
    // Load shedding off unless a test turns it on: on a busy machine it would refuse a test's requests.
    env: { ...runnerEnv, PATH: process.env.PATH, PORT: '0', METRICS_PORT: '0', LOAD_SHEDDING_MAX_EVENT_LOOP_DELAY_MS: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...user,
    // A shell gets a process group of its own, so the teardown can stop a server the shell left behind.
    detached: shellCommand !== undefined
  })
  let out = ''
  let err = ''
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }))
  })
  const listening = new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
      if (match?.[1] !== undefined) resolve(match[1])
    })
    exited.then(({ code }) => reject(new Error(`server exited with ${code} before listening: ${err}`)))
  })
  listening.catch(() => {})
  child.stderr?.on('data', (chunk: Buffer) => { err += chunk.toString() })
  t.teardown(async () => {
    try {
      if (shellCommand !== undefined) process.kill(-(child.pid as number), 'SIGKILL')
      else if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    } catch {
      // The group has no process left.
    }
    await exited
    if (givenCwd === undefined) await rm(cwd, { recursive: true, force: true })
  })
  return { child, stdout: () => out, stderr: () => err, listening, exited }
}
