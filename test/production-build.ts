import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat } from 'node:fs/promises'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const root = fileURLToPath(new URL('..', import.meta.url))
const artifacts = path.join(root, '.artifacts')
/** What the build reads: a change to any of them is a new build. */
const inputs = ['src', 'plugins', 'routes', 'scripts/build.ts', 'scripts/migrate.ts', 'package-lock.json']
/** Longer than any build takes, even on a busy machine: only a builder that died leaves its lock this long. */
const STALE_LOCK_MS = 10 * 60_000

async function filesUnder (entry: string): Promise<string[]> {
  const full = path.join(root, entry)
  if (!(await stat(full)).isDirectory()) return [entry]
  const names = await readdir(full, { recursive: true, withFileTypes: true })
  return names.filter((name) => name.isFile()).map((name) => path.relative(root, path.join(name.parentPath, name.name))).sort()
}

async function sourcesHash (): Promise<string> {
  const hash = createHash('sha256')
  for (const file of (await Promise.all(inputs.map(filesUnder))).flat()) hash.update(file).update('\0').update(await readFile(path.join(root, file))).update('\0')
  return hash.digest('hex').slice(0, 16)
}

const exists = (file: string) => stat(file).then(() => true, () => false)

/**
 * The production build of the current sources (scripts/build.ts), made once and shared by every
 * test file that runs the built server: keyed by a hash of what the build reads, so a test run
 * builds at most once, and not at all when the sources have not changed since the last one. Test
 * files running in parallel take turns through a lock; the first builds, the others wait for its
 * result. Inside the project like dist/, so the built code finds migrations/ and vendor/. Read-only
 * for its users: a test that changes a build copies it first.
 */
export async function productionBuild (): Promise<string> {
  await mkdir(artifacts, { recursive: true })
  const outdir = path.join(artifacts, `build-${await sourcesHash()}`)
  const lock = `${outdir}.lock`
  for (;;) {
    if (await exists(outdir)) return outdir
    try {
      await mkdir(lock)
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const locked = await stat(lock).then((s) => s.mtimeMs, () => undefined)
      if (locked !== undefined && Date.now() - locked > STALE_LOCK_MS) await rm(lock, { recursive: true, force: true })
      else await sleep(200)
    }
  }
  try {
    if (await exists(outdir)) return outdir
    // Built aside, then renamed: a build is there complete or not at all.
    const building = await mkdtemp(path.join(artifacts, 'building-'))
    await promisify(execFile)(path.join(root, 'node_modules', '.bin', 'tsx'), ['scripts/build.ts', '--outdir', building], {
      cwd: root,
      env: { PATH: process.env.PATH, _TAPJS_PROCESSINFO_COVERAGE_: '0' }
    })
    await rename(building, outdir)
    // Builds of earlier sources are of no further use.
    for (const name of await readdir(artifacts)) {
      if (/^build-[0-9a-f]+$/.test(name) && path.join(artifacts, name) !== outdir) await rm(path.join(artifacts, name), { recursive: true, force: true })
    }
    return outdir
  } finally {
    await rm(lock, { recursive: true, force: true })
  }
}
