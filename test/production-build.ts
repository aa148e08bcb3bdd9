import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const root = fileURLToPath(new URL('..', import.meta.url))
const artifacts = path.join(root, '.artifacts')

/** Everything `npm run build` reads: a change to any of it makes a new build. */
const buildInputs = ['package.json', 'package-lock.json', 'tsconfig.json', 'scripts', 'src', 'plugins', 'routes', 'migrations', 'vendor']

/** A build in progress blocks the others this long at most; only a hung build reaches it. */
const BUILD_WAIT_MS = 240_000

/**
 * The production build of the current sources (`npm run build`, scripts/build.ts), made once and
 * shared by every test file that needs one, in parallel and in later runs: `<dir>/dist`, with
 * `<dir>` in .artifacts/ keyed by a hash of the build's inputs. Inside the project like the
 * checkout's own dist/, so the built code finds package.json and node_modules above it.
 *
 * The build starts in a folder holding a stale plugin that throws when loaded: every test that
 * serves this build also checks that the build replaced what an earlier one left.
 */
export async function productionBuild (): Promise<string> {
  const dir = path.join(artifacts, `build-${await inputsHash()}`)
  if (await exists(dir)) return dir
  await mkdir(artifacts, { recursive: true })
  const lock = `${dir}.lock`
  await acquire(lock)
  try {
    if (await exists(dir)) return dir
    const building = await mkdtemp(`${dir}.tmp-`)
    await mkdir(path.join(building, 'dist', 'plugins'), { recursive: true })
    await writeFile(path.join(building, 'dist', 'plugins', 'stale.js'), 'throw new Error("a stale plugin was loaded")\n')
    await run(path.join(root, 'node_modules', '.bin', 'tsx'), ['scripts/build.ts', '--outdir', path.join(building, 'dist')], {
      cwd: root,
      env: { PATH: process.env.PATH, _TAPJS_PROCESSINFO_COVERAGE_: '0' }
    })
    await rename(building, dir)
    await removeOlderBuilds(dir)
    return dir
  } finally {
    await rm(lock, { recursive: true, force: true })
  }
}

async function inputsHash (): Promise<string> {
  const hash = createHash('sha256')
  for (const input of buildInputs) {
    const full = path.join(root, input)
    const files = (await stat(full)).isDirectory()
      ? (await readdir(full, { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name)).sort()
      : [full]
    for (const file of files) hash.update(path.relative(root, file)).update('\0').update(await readFile(file)).update('\0')
  }
  return hash.digest('hex').slice(0, 16)
}

/**
 * A lock between test processes: a directory only one can create, naming its owner's pid, so a
 * lock left by a killed run is taken over rather than waited for.
 */
async function acquire (lock: string): Promise<void> {
  const deadline = Date.now() + BUILD_WAIT_MS
  for (;;) {
    try {
      await mkdir(lock)
      await writeFile(path.join(lock, 'pid'), String(process.pid))
      return
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    const owner = Number(await readFile(path.join(lock, 'pid'), 'utf8').catch(() => ''))
    if (owner > 0 && !isAlive(owner)) await rm(lock, { recursive: true, force: true })
    else if (Date.now() > deadline) throw new Error(`the production build under ${lock} took over ${BUILD_WAIT_MS} ms`)
    else await sleep(200)
  }
}

function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Builds of earlier sources and unfinished ones, unless touched in the last hour (another run may still use one). */
async function removeOlderBuilds (current: string): Promise<void> {
  const hourAgo = Date.now() - 3_600_000
  for (const entry of await readdir(artifacts)) {
    const dir = path.join(artifacts, entry)
    if (!/^build-[0-9a-f]{16}(\.tmp-.+)?$/.test(entry) || dir === current) continue
    if ((await stat(dir)).mtimeMs < hourAgo) await rm(dir, { recursive: true, force: true })
  }
}

async function exists (file: string): Promise<boolean> {
  return stat(file).then(() => true, () => false)
}
