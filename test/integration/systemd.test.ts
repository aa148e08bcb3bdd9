import { chmod, mkdtemp, readFile, rename, rm, symlink } from 'node:fs/promises'
import http from 'node:http'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { NOWHERE_SMTP_URL, startTestDatabase } from '../helper.js'
import { buildRelease, findTool, renderNginxConfig, startNginx, systemdInstance, until } from '../deploy-tools.js'
import { spawnServer, type SpawnedServer } from '../spawn-server.js'

const nginx = findTool('nginx')
const database = await startTestDatabase(t)

/** Whether 127.0.0.1:port can be listened on at this moment. */
function free (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/**
 * An instance name as the unit takes them, a four-digit public port, whose port and metrics port
 * (the same digits behind a 1) are both free now. Other copies of the suite run at the same time,
 * so the reference's 8001 to 8003 are never used.
 */
async function freeInstanceName (taken: Set<string>): Promise<string> {
  for (let attempt = 0; attempt < 500; attempt++) {
    const port = 1024 + Math.floor(Math.random() * (9999 - 1024))
    if (taken.has(String(port))) continue
    if (await free(port) && await free(Number(`1${port}`))) return String(port)
  }
  throw new Error('no free pair of ports found')
}

/** One GET through nginx's Unix socket, on a connection of its own: the status. */
function get (socketPath: string, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.get({ socketPath, path: url, agent: false }, (response) => {
      response.resume()
      response.once('end', () => resolve(response.statusCode ?? 0))
    })
    request.once('error', reject)
  })
}

/**
 * `systemctl start spinta@<name>` without systemd: the unit's ExecStart arguments and `Environment=`
 * lines with `%i` expanded, what /etc/spinta/env would hold, and the unit's working directory
 * (`current`, a link to the release). Only the node executable is this test's own, wherever it is
 * installed.
 */
async function startUnitInstance (current: string, name: string): Promise<SpawnedServer> {
  const unit = await systemdInstance(name)
  const [, ...args] = unit.execStart
  const environmentFile = { DATABASE_URL: database.url, SECRET_KEY: 'systemd-test-secret-key-0123456789abcdef', SMTP_URL: NOWHERE_SMTP_URL }
  return spawnServer(t, { ...unit.env, ...environmentFile }, { nodeArgs: args, cwd: current })
}

t.test('three instances started from the systemd unit\'s own lines serve behind nginx (deploy/nginx), each with its metrics', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'spinta-systemd-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  // nginx's workers drop root's privileges and must still reach their temporary directories here.
  await chmod(dir, 0o755)

  // The operator's steps: a release built elsewhere, migrated, then the link switched to it.
  const release = await buildRelease(database.url)
  t.equal((await systemdInstance('8001')).workingDirectory, '/srv/spinta/current', 'the unit runs the release the link names')
  const current = path.join(dir, 'current')
  await symlink(release, current)

  const names = new Set<string>()
  const instances: Array<{ name: string, server: SpawnedServer }> = []
  while (instances.length < 3) {
    const name = await freeInstanceName(names)
    names.add(name)
    const server = await startUnitInstance(current, name)
    const listening = await server.listening.catch(() => undefined)
    // Another process took one of the two ports since they were found free: try another name.
    if (listening === undefined && /EADDRINUSE|cannot be listened on/.test(server.stderr())) continue
    t.equal(listening, `http://127.0.0.1:${name}`, `spinta@${name} listens on the port in its name ${server.stderr()}`)
    instances.push({ name, server })
  }

  const socketPath = path.join(dir, 'nginx.sock')
  const upstreams = instances.map(({ name }) => `127.0.0.1:${name}`)
  await startNginx(t, nginx, dir, await renderNginxConfig(dir, { listen: `unix:${socketPath}`, upstreams }))

  // nginx's access log names the instance that answered each request.
  const answeredBy = async () => {
    const log = await readFile(path.join(dir, 'access.log'), 'utf8').catch(() => '')
    return new Set(log.split('\n').filter((line) => line.startsWith('200 GET / ')).map((line) => /upstream=(\S+)/.exec(line)?.[1]))
  }
  await until('every instance to answer GET / through nginx', async () => {
    await get(socketPath, '/').catch(() => 0)
    const answered = await answeredBy()
    return upstreams.every((address) => answered.has(address))
  })
  t.pass('all three instances served GET / through nginx')

  for (const { name } of instances) {
    const scrape = await fetch(`http://127.0.0.1:1${name}/metrics`)
    t.equal(scrape.status, 200, `spinta@${name} serves its metrics on port 1${name}`)
    const served = /^http_request_duration_seconds_count\{method="GET",route="\/",status_code="200"\} (\d+)$/m.exec(await scrape.text())?.[1]
    t.ok(Number(served) >= 1, `and they count the requests it served (${served})`)
  }

  // A deploy switches the link to the next release: the running instances are not touched by it.
  const next = await mkdtemp(path.join(dir, 'next-release-'))
  await symlink(next, `${current}.next`)
  await rename(`${current}.next`, current)
  for (const url of ['/', '/docs', '/redoc', '/openapi.json']) {
    const statuses = await Promise.all(instances.map(({ name }) => fetch(`http://127.0.0.1:${name}${url}`).then((response) => response.status)))
    t.same(statuses, [200, 200, 200], `${url} still served by every instance after the link moved`)
  }

  // Each waits SHUTDOWN_DELAY_MS before closing: stopped together.
  for (const { server } of instances) server.child.kill('SIGTERM')
  for (const { name, server } of instances) t.same(await server.exited, { code: 0, signal: null }, `spinta@${name} stops cleanly ${server.stderr()}`)
})
