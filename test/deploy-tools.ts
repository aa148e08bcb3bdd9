import { execFile, spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { Test } from 'tap'
import { productionBuild } from './production-build.js'

/** The reference configurations in deploy/, the single source the tests render and check. */
export const deployDir = fileURLToPath(new URL('../deploy/', import.meta.url))
const root = fileURLToPath(new URL('../', import.meta.url))

const exec = promisify(execFile)

/**
 * A release directory as deploy/systemd runs one: the run's shared production build, with the
 * database migrated by `node dist/scripts/migrate.js` run from it, the deploy step. The sources
 * through the test runner's TypeScript loader start too slowly for instances started under load
 * on a small shared machine.
 */
export async function buildRelease (databaseUrl: string): Promise<string> {
  const release = await productionBuild()
  // Production never migrates at start-up: the deploy step does, once.
  await exec(process.execPath, ['dist/scripts/migrate.js'], { cwd: release, env: { PATH: process.env.PATH, _TAPJS_PROCESSINFO_COVERAGE_: '0', NODE_ENV: 'production', DATABASE_URL: databaseUrl } })
  return release
}

/**
 * What a production install listening at `base` must answer, as a release or the container image
 * runs it: health, the welcome, a registration as `email`, and ReDoc's bundle from the release.
 */
export async function assertServesInProduction (t: Test, base: string, email: string): Promise<void> {
  t.same(await (await fetch(`${base}/api/health`)).json(), { status: 'healthy', database: 'connected' })
  t.same(await (await fetch(`${base}/`)).json(), { message: 'Welcome to Spinta Backend API', docs: '/docs', redoc: '/redoc' })
  // Password hashing loads the native argon2 addon from the production install.
  const registered = await fetch(`${base}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: 'correct horse battery staple', full_name: 'Production Test' })
  })
  t.equal(registered.status, 202, await registered.text())
  const redoc = await fetch(`${base}/redoc/redoc.standalone.js`)
  t.equal(redoc.status, 200)
  t.ok(Buffer.from(await redoc.arrayBuffer()).equals(await readFile(path.join(root, 'vendor', 'redoc', 'redoc.standalone.js'))), 'ReDoc\'s bundle from the release')
}

/** Where Debian's packages put the load balancers, often outside a non-root user's PATH. */
const sbinDirs = ['/usr/sbin', '/usr/local/sbin', '/sbin']

/**
 * The executable of nginx or haproxy. Missing, it throws one line saying how to install it: the
 * deploy tests drive the real programs, and a test that skipped them would prove nothing.
 */
export function findTool (name: 'nginx' | 'haproxy' | 'systemd-analyze'): string {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), ...sbinDirs]
  const found = dirs.map((dir) => path.join(dir, name)).find((file) => existsSync(file))
  if (found === undefined) {
    const debianPackage = name === 'systemd-analyze' ? 'systemd' : name
    throw new Error(`the deploy tests run ${name}, which was not found: install it ` +
      `(Debian/Ubuntu: \`sudo apt-get install -y ${debianPackage}\`; .ci/run does that when it is missing)`)
  }
  return found
}

/** Runs a command to completion: its exit code and everything it wrote. */
export function run (file: string, args: string[]): { code: number | null, output: string } {
  const result = spawnSync(file, args, { encoding: 'utf8' })
  if (result.error !== undefined) throw result.error
  return { code: result.status, output: result.stdout + result.stderr }
}

/** Polls `condition` every 20 ms until it holds, at most `attempts` times; then throws `what`. */
export async function until (what: string, condition: () => boolean | Promise<boolean>, attempts = 1500): Promise<void> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (await condition()) return
    await sleep(20)
  }
  throw new Error(`gave up waiting: ${what}`)
}

/** The `Environment=NAME=value` settings of deploy/systemd/spinta@.service. */
export async function systemdEnvironment (): Promise<Map<string, string>> {
  const unit = await readFile(path.join(deployDir, 'systemd/spinta@.service'), 'utf8')
  return new Map([...unit.matchAll(/^Environment=([A-Z0-9_]+)=(.*)$/gm)].map(([, name, value]) => [name as string, value as string]))
}

export interface SystemdInstance {
  /** The unit's `Environment=` settings with `%i` replaced by the instance name. */
  env: Record<string, string>
  /** `WorkingDirectory=`. */
  workingDirectory: string
  /** `ExecStart=`, split on spaces: the executable and its arguments, `%i` replaced. */
  execStart: string[]
}

/** What systemd would run for `spinta@<instance>`, read from the unit; only `%i` is expanded. */
export async function systemdInstance (instance: string): Promise<SystemdInstance> {
  const unit = await readFile(path.join(deployDir, 'systemd/spinta@.service'), 'utf8')
  const expand = (value: string) => value.replaceAll('%i', instance)
  const directive = (name: string) => {
    const value = new RegExp(`^${name}=(.*)$`, 'm').exec(unit)?.[1]
    if (value === undefined) throw new Error(`deploy/systemd/spinta@.service has no ${name}=`)
    return expand(value)
  }
  const env = Object.fromEntries([...(await systemdEnvironment())].map(([name, value]) => [name, expand(value)]))
  return { env, workingDirectory: directive('WorkingDirectory'), execStart: directive('ExecStart').split(/\s+/) }
}

export interface NginxSite {
  /** What replaces the reference's `listen` address, e.g. `unix:/tmp/x/nginx.sock`. */
  listen?: string
  /** `host:port` of each instance, in place of the reference's upstream servers. */
  upstreams?: string[]
}

const upstreamServer = /^([ \t]*server[ \t]+)127\.0\.0\.1:\d+([^;\n]*;)[ \t]*\n/gm

/**
 * A complete nginx.conf around deploy/nginx/spinta.conf, with every path nginx writes (pid, logs,
 * temporary files) inside `dir`. Only the listen address and the upstream servers' addresses may
 * be replaced; every other directive is the reference's own.
 */
export async function renderNginxConfig (dir: string, { listen, upstreams }: NginxSite = {}): Promise<string> {
  let site = await readFile(path.join(deployDir, 'nginx/spinta.conf'), 'utf8')
  if (upstreams !== undefined) {
    const servers = [...site.matchAll(upstreamServer)]
    const [first] = servers
    if (first === undefined) throw new Error('deploy/nginx/spinta.conf has no "server 127.0.0.1:PORT ...;" line')
    // Each replacement keeps the reference's parameters (max_fails, fail_timeout).
    const [, indent, parameters] = first
    const replacement = upstreams.map((address) => `${indent}${address}${parameters}\n`).join('')
    let placed = false
    site = site.replace(upstreamServer, () => {
      if (placed) return ''
      placed = true
      return replacement
    })
  }
  if (listen !== undefined) {
    const listens = site.match(/^[ \t]*listen[ \t][^;]*;/gm) ?? []
    if (listens.length !== 1) throw new Error(`deploy/nginx/spinta.conf has ${listens.length} listen directives; the tests replace exactly one`)
    site = site.replace(/^([ \t]*)listen[ \t][^;]*;/m, `$1listen ${listen};`)
  }
  return [
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log notice;`,
    'worker_processes 2;',
    'events { worker_connections 1024; }',
    'http {',
    '  log_format upstream "$status $request_method $request_uri upstream=$upstream_addr statuses=$upstream_status";',
    `  access_log ${dir}/access.log upstream;`,
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${dir}/${kind}_temp;`),
    site,
    '}',
    ''
  ].join('\n')
}

/** `nginx -t` on a configuration: its exit code and output. */
export function testNginxConfig (nginx: string, dir: string, configFile: string): { code: number | null, output: string } {
  return run(nginx, ['-t', '-p', dir, '-e', path.join(dir, 'error.log'), '-c', configFile])
}

export interface RunningNginx {
  /** The worker processes' ids, from the master's children. */
  workers: () => number[]
  /** Writes the new configuration and reloads; resolves once every worker runs it and the old ones are gone. */
  reload: (config: string) => Promise<void>
  errorLog: () => string
}

/**
 * nginx in the foreground (`daemon off`) on `config`, stopped when the test ends. Resolves once its
 * workers run.
 */
export async function startNginx (t: { teardown: (fn: () => unknown) => void }, nginx: string, dir: string, config: string): Promise<RunningNginx> {
  const configFile = path.join(dir, 'nginx.conf')
  const errorLogFile = path.join(dir, 'error.log')
  await writeFile(configFile, config)
  const checked = testNginxConfig(nginx, dir, configFile)
  if (checked.code !== 0) throw new Error(`nginx -t refused the rendered configuration: ${checked.output}`)

  const child = spawn(nginx, ['-p', dir, '-e', errorLogFile, '-c', configFile, '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  let stopped = false
  const exited = new Promise<void>((resolve) => child.once('exit', () => {
    stopped = true
    resolve()
  }))
  t.teardown(async () => {
    if (!stopped) child.kill('SIGTERM')
    await exited
  })

  const errorLog = (): string => existsSync(errorLogFile) ? readFileSync(errorLogFile, 'utf8') : ''
  const workers = (): number[] => {
    const pid = child.pid as number
    try {
      return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
    } catch {
      return []
    }
  }
  const waitFor = async (what: string, condition: () => boolean) => {
    await until(what, () => {
      if (stopped) throw new Error(`nginx exited: ${output}${errorLog()}`)
      return condition()
    }).catch((error: Error) => { throw new Error(`${error.message}\n${errorLog()}`) })
  }

  await waitFor('nginx workers to start', () => workers().length > 0)
  return {
    workers,
    errorLog,
    async reload (next) {
      await writeFile(configFile, next)
      const before = workers()
      // The master starts new workers only once it has read the new file; the old ones finish
      // their requests and exit.
      child.kill('SIGHUP')
      await waitFor('nginx to reload', () => {
        const now = workers()
        return now.length > 0 && now.every((pid) => !before.includes(pid))
      })
    }
  }
}

export interface HaproxySite {
  /** What replaces the reference's `bind` address, e.g. `unix@/tmp/x/haproxy.sock`. */
  bind: string
  /** `host:port` of each instance, in place of the reference's servers, in their order. */
  servers: string[]
}

/**
 * deploy/haproxy/haproxy.cfg with the bind address and the servers' addresses replaced; every
 * other line is the reference's own. A user that is not root cannot switch to the `haproxy` user,
 * so for one the `user` and `group` lines go too.
 */
export async function renderHaproxyConfig ({ bind, servers }: HaproxySite): Promise<string> {
  let config = await readFile(path.join(deployDir, 'haproxy/haproxy.cfg'), 'utf8')
  const binds = config.match(/^[ \t]*bind[ \t].*$/gm) ?? []
  if (binds.length !== 1) throw new Error(`deploy/haproxy/haproxy.cfg has ${binds.length} bind lines; the tests replace exactly one`)
  config = config.replace(/^([ \t]*)bind[ \t].*$/m, `$1bind ${bind}`)
  const lines = [...config.matchAll(/^([ \t]*server[ \t]+\S+[ \t]+)127\.0\.0\.1:\d+(.*)$/gm)]
  if (lines.length !== servers.length) throw new Error(`deploy/haproxy/haproxy.cfg has ${lines.length} servers, the test ${servers.length}`)
  let index = 0
  config = config.replace(/^([ \t]*server[ \t]+\S+[ \t]+)127\.0\.0\.1:\d+(.*)$/gm, (_line, head: string, tail: string) => `${head}${servers[index++]}${tail}`)
  if (process.getuid?.() !== 0) config = config.replace(/^[ \t]*(user|group)[ \t].*\n/gm, '')
  return config
}

/** HAProxy in the foreground on `config`, stopped when the test ends. Resolves once `haproxy -c` accepted it and it runs. */
export async function startHaproxy (t: { teardown: (fn: () => unknown) => void }, haproxy: string, dir: string, config: string): Promise<{ output: () => string }> {
  const configFile = path.join(dir, 'haproxy.cfg')
  await writeFile(configFile, config)
  const checked = run(haproxy, ['-c', '-f', configFile])
  if (checked.code !== 0) throw new Error(`haproxy -c refused the rendered configuration: ${checked.output}`)
  const child = spawn(haproxy, ['-db', '-f', configFile], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await exited
  })
  return { output: () => output }
}
