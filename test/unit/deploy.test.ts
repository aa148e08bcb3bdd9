import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { parseAllDocuments } from 'yaml'
import { configSchema } from '../../src/config/schema.js'
import { deployDir, findTool, renderNginxConfig, run, systemdEnvironment, testNginxConfig } from '../deploy-tools.js'

/** Variables read outside the config schema (see the README's Configuration), the tracing switches among them. */
const readOutsideSchema = ['LOG_LEVEL', 'TRUST_PROXY', 'NODE_OPTIONS', 'OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_SDK_DISABLED']
const appVariables = new Set([...Object.keys(configSchema.properties), ...readOutsideSchema])
/** Names in deploy/ that look like variables and are something else. */
const notVariables = new Set(['METH_GET'])

const openapi = JSON.parse(await readFile(new URL('../../openapi.json', import.meta.url), 'utf8')) as {
  paths: Record<string, Record<string, { operationId?: string }>>
}
/** The path of the GET route with this operationId. */
function routePath (operationId: string): string | undefined {
  return Object.entries(openapi.paths).find(([, operations]) => operations.get?.operationId === operationId)?.[0]
}

async function deployFiles (): Promise<string[]> {
  const entries = await readdir(deployDir, { recursive: true, withFileTypes: true })
  return entries.filter((entry) => entry.isFile()).map((entry) => path.relative(deployDir, path.join(entry.parentPath, entry.name))).sort()
}
const read = (file: string) => readFile(path.join(deployDir, file), 'utf8')

type Manifest = Record<string, any>
async function manifests (): Promise<Manifest[]> {
  const files = (await deployFiles()).filter((file) => file.startsWith('kubernetes/'))
  const documents: Manifest[] = []
  for (const file of files) {
    for (const document of parseAllDocuments(await read(file))) {
      if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0]?.message}`)
      documents.push(document.toJS() as Manifest)
    }
  }
  return documents
}

t.test('every variable named in deploy/, comments included, is one the app reads', async (t) => {
  const files = await deployFiles()
  t.ok(files.length >= 6, `deploy/ holds the reference configurations: ${files.join(', ')}`)
  for (const file of files) {
    const names = new Set((await read(file)).match(/\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b/g) ?? [])
    const unknown = [...names].filter((name) => !appVariables.has(name) && !notVariables.has(name))
    t.same(unknown, [], `${file} names only the app's variables`)
  }

  const env = (await manifests()).filter((m) => m.kind === 'Deployment')
    .flatMap((m) => m.spec.template.spec.containers.flatMap((c: Manifest) => c.env ?? [])).map((e: Manifest) => e.name as string)
  t.ok(env.length > 0)
  t.same(env.filter((name) => !appVariables.has(name)), [], 'the Deployment sets only variables the app reads')
  t.same([...(await systemdEnvironment()).keys()].filter((name) => !appVariables.has(name)), [], 'the systemd unit sets only variables the app reads')
})

t.test('nginx -t accepts deploy/nginx/spinta.conf, which keeps upstream connections alive, forwards the client and retries only idempotent requests', async (t) => {
  const nginx = findTool('nginx')
  const dir = await mkdtemp(path.join(tmpdir(), 'spinta-nginx-check-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await chmod(dir, 0o755)
  const configFile = path.join(dir, 'nginx.conf')
  await writeFile(configFile, await renderNginxConfig(dir))
  const { code, output } = testNginxConfig(nginx, dir, configFile)
  t.equal(code, 0, output)

  const site = await read('nginx/spinta.conf')
  t.match(site, /upstream spinta \{[^}]*\n\s*keepalive \d+;/, 'the upstream keeps idle connections')
  t.match(site, /proxy_http_version 1\.1;/)
  t.match(site, /proxy_set_header Connection "";/, 'a client\'s "Connection: close" does not close upstream connections')
  t.match(site, /proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;/)
  const nextUpstream = /^\s*proxy_next_upstream\s+([^;]*);/m.exec(site)?.[1] ?? ''
  t.match(nextUpstream, /\berror\b/, 'a refused or reset instance is retried elsewhere')
  t.notMatch(nextUpstream, /non_idempotent|http_503/, 'never a POST once sent, nor a 503 every instance would give')
  // The app's keep-alive timeout (src/http/server-options.ts) must outlast nginx's.
  const keepaliveTimeout = Number(/^\s*keepalive_timeout (\d+)s;/m.exec(site)?.[1])
  const { serverOptions } = await import('../../src/http/server-options.js')
  t.ok(keepaliveTimeout * 1000 < (serverOptions.keepAliveTimeout ?? 0), 'nginx closes idle upstream connections before the app does')
})

t.test('haproxy -c accepts deploy/haproxy/haproxy.cfg, whose health check is the readiness probe and outpaced by SHUTDOWN_DELAY_MS', async (t) => {
  const haproxy = findTool('haproxy')
  const file = path.join(deployDir, 'haproxy/haproxy.cfg')
  const { code, output } = run(haproxy, ['-c', '-f', file])
  t.equal(code, 0, output)

  const config = await read('haproxy/haproxy.cfg')
  const check = /^\s*http-check send meth GET uri (\S+)/m.exec(config)?.[1]
  t.equal(check, routePath('getReadiness'), 'the active check asks the readiness probe')
  t.match(config, /^\s*option forwardfor\b/m, 'X-Forwarded-For is set')
  const [, inter, fall] = /default-server check inter (\d+)s fall (\d+)/.exec(config) ?? []
  const delay = Number((await systemdEnvironment()).get('SHUTDOWN_DELAY_MS'))
  t.ok(Number(inter) * Number(fall) * 1000 <= delay, `HAProxy marks an instance down (${inter} s x ${fall}) before its listener closes (${delay} ms)`)
})

t.test('nginx, HAProxy and the systemd unit agree on the instances\' ports and entry point', async (t) => {
  const ports = (text: string) => [...text.matchAll(/\bserver\s+(?:\w+\s+)?127\.0\.0\.1:(\d+)/g)].map(([, port]) => Number(port))
  const nginxPorts = ports(await read('nginx/spinta.conf'))
  t.same(nginxPorts, [8001, 8002, 8003])
  t.same(ports(await read('haproxy/haproxy.cfg')), nginxPorts)

  const unit = await read('systemd/spinta@.service')
  const env = await systemdEnvironment()
  t.equal(env.get('PORT'), '%i', 'the instance name is its port')
  t.equal(env.get('TRUST_PROXY'), 'loopback', 'the load balancers on this host are trusted, nobody else')
  t.equal(env.get('HOST'), '127.0.0.1')
  const packageJson = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> }
  const entry = /node (\S+)$/.exec(packageJson.scripts.start ?? '')?.[1]
  t.match(unit, new RegExp(`^ExecStart=\\S*node ${entry}$`, 'm'), 'the unit starts what npm start starts, without the build')
  const stopSeconds = Number(/^TimeoutStopSec=(\d+)$/m.exec(unit)?.[1])
  const shutdownMs = Number(env.get('SHUTDOWN_DELAY_MS')) + Number(env.get('SHUTDOWN_GRACE_MS'))
  t.ok(stopSeconds * 1000 > shutdownMs, 'systemd kills only after the server would have exited by itself')
})

t.test('the Kubernetes manifests: probes on the two endpoints, SHUTDOWN_DELAY_MS against deregistration, a PodDisruptionBudget and an autoscaler', async (t) => {
  const all = await manifests()
  const [deployment] = all.filter((m) => m.kind === 'Deployment')
  t.ok(deployment, 'a Deployment')
  const pod = deployment?.spec.template
  const [container] = pod.spec.containers as Manifest[]
  const env = new Map((container?.env as Manifest[]).map((e) => [e.name, e.value]))
  const namedPort = (port: string | number) => typeof port === 'number' ? port : container?.ports.find((p: Manifest) => p.name === port)?.containerPort

  t.equal(env.get('HOST'), '0.0.0.0', 'reachable from the kubelet')
  t.equal(Number(env.get('PORT')), container?.ports[0].containerPort)
  t.equal(container?.livenessProbe.httpGet.path, routePath('getLiveness'))
  t.equal(container?.readinessProbe.httpGet.path, routePath('getReadiness'))
  t.equal(namedPort(container?.livenessProbe.httpGet.port), Number(env.get('PORT')))
  t.equal(namedPort(container?.readinessProbe.httpGet.port), Number(env.get('PORT')))

  const delay = Number(env.get('SHUTDOWN_DELAY_MS'))
  const { periodSeconds, failureThreshold } = container?.readinessProbe
  t.ok(delay >= periodSeconds * failureThreshold * 1000, 'readiness has failed long enough to deregister before the listener closes')
  t.ok(pod.spec.terminationGracePeriodSeconds * 1000 > delay + Number(env.get('SHUTDOWN_GRACE_MS')), 'the kubelet kills only after the server would have exited by itself')
  t.equal(deployment?.spec.strategy.rollingUpdate.maxUnavailable, 0, 'a rollout never lowers the ready pods')

  const labels = pod.metadata.labels
  const service = all.find((m) => m.kind === 'Service')
  t.same(service?.spec.selector, labels)
  t.equal(namedPort(service?.spec.ports[0].targetPort), Number(env.get('PORT')))

  const budget = all.find((m) => m.kind === 'PodDisruptionBudget')
  t.same(budget?.spec.selector.matchLabels, labels, 'a PodDisruptionBudget covers the pods')
  t.ok(budget?.spec.maxUnavailable < deployment?.spec.replicas)

  const autoscaler = all.find((m) => m.kind === 'HorizontalPodAutoscaler')
  t.same(autoscaler?.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: deployment?.metadata.name })
  t.ok(autoscaler?.spec.minReplicas >= deployment?.spec.replicas)
  t.ok(container?.resources.requests.cpu, 'CPU utilisation is measured against a request')
})
