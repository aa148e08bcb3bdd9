import { chmod, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir, userInfo } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { parseAllDocuments } from 'yaml'
import { configSchema } from '../../src/config/schema.js'
import { deployDir, findTool, renderNginxConfig, run, systemdEnvironment, testNginxConfig } from '../deploy-tools.js'

/** Variables read outside the config schema (see the README's Configuration), the tracing switches among them. */
const readOutsideSchema = ['LOG_LEVEL', 'TRUST_PROXY', 'NODE_OPTIONS', 'OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_SDK_DISABLED']
const appVariables = new Set([...Object.keys(configSchema.properties), ...readOutsideSchema])
/** Names in deploy/ that look like variables and are something else. */
const notVariables = new Set(['METH_GET', 'AF_INET', 'AF_INET6', 'AF_UNIX'])

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
  t.equal(env.get('METRICS_PORT'), '1%i', 'and its metrics port the same digits behind a 1: one of its own')
  t.equal(env.get('METRICS_HOST'), '127.0.0.1', 'metrics never on a public address')
  t.equal(env.get('TRUST_PROXY'), 'loopback', 'the load balancers on this host are trusted, nobody else')
  t.equal(env.get('HOST'), '127.0.0.1')
  const packageJson = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> }
  const startArgs = /^exec node (.+)$/.exec(packageJson.scripts.start ?? '')?.[1]
  t.ok(startArgs)
  t.equal(/^ExecStart=\S*node (.+)$/m.exec(unit)?.[1], startArgs, 'the unit starts what npm start starts, without the build')
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

t.test('systemd-analyze verify accepts the unit, which runs a release through a link, sandboxed, and builds nothing', async (t) => {
  const unit = await read('systemd/spinta@.service')
  t.match(unit, /^WorkingDirectory=\/srv\/spinta\/current$/m, 'runs the release the link names')
  t.notMatch(unit, /^Exec\w*=.*\bnpm\b/m, 'nothing is built or installed where the instances run')
  for (const directive of ['ProtectSystem=strict', 'ProtectHome=true', 'PrivateTmp=true', 'PrivateDevices=true', 'NoNewPrivileges=true',
    'CapabilityBoundingSet=', 'ProtectKernelTunables=true', 'ProtectKernelModules=true', 'ProtectKernelLogs=true', 'ProtectControlGroups=true',
    'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX', 'RestrictNamespaces=true', 'LockPersonality=true', 'SystemCallFilter=@system-service']) {
    t.match(unit, new RegExp(`^${directive.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'), directive)
  }
  t.notMatch(unit, /^MemoryDenyWriteExecute=/m, 'V8\'s JIT writes the code it runs')

  // systemd, and so systemd-analyze, exists only on Linux.
  t.test('systemd-analyze verify', { skip: process.platform === 'linux' ? false : 'systemd runs only on Linux' }, async (t) => {
    // The unit names the production host's account, environment files and release link, which this
    // machine lacks: the verified copy names this machine's instead, and changes nothing else.
    const dir = await mkdtemp(path.join(tmpdir(), 'spinta-systemd-verify-'))
    t.teardown(() => rm(dir, { recursive: true, force: true }))
    const release = path.join(dir, 'releases', '0.1.0')
    await mkdir(release, { recursive: true })
    await symlink(release, path.join(dir, 'current'))
    const { username } = userInfo()
    const group = run('id', ['-gn']).output.trim()
    const renamed = new Map([
      ['User=spinta', `User=${username}`],
      ['Group=spinta', `Group=${group}`],
      ['WorkingDirectory=/srv/spinta/current', `WorkingDirectory=${path.join(dir, 'current')}`],
      ['EnvironmentFile=/etc/spinta/database.env', `EnvironmentFile=${path.join(dir, 'database.env')}`],
      ['EnvironmentFile=/etc/spinta/server.env', `EnvironmentFile=${path.join(dir, 'server.env')}`]
    ])
    let copy = unit
    for (const [from, to] of renamed) {
      t.match(copy, new RegExp(`^${from}$`, 'm'), `the unit says ${from}`)
      copy = copy.replace(new RegExp(`^${from}$`, 'm'), to)
    }
    for (const file of ['database.env', 'server.env']) await writeFile(path.join(dir, file), '', { mode: 0o600 })
    await writeFile(path.join(dir, 'spinta@.service'), copy)
    // An instance of the template, as `systemctl start spinta@8001` loads it.
    await symlink('spinta@.service', path.join(dir, 'spinta@8001.service'))
    const systemdAnalyze = findTool('systemd-analyze')
    const { code, output } = run(systemdAnalyze, ['verify', path.join(dir, 'spinta@8001.service')])
    t.equal(code, 0, output)
    t.equal(output, '', 'no warning either')
    // systemd's own rating of the sandbox, from 0 (locked down) to 10, in tenths here: at most 2.0, "OK".
    const security = run(systemdAnalyze, ['security', '--offline=yes', '--threshold=20', path.join(dir, 'spinta@8001.service')])
    t.equal(security.code, 0, security.output.split('\n').filter((line) => line.includes('exposure')).join('\n'))
  })
})

/** Each manifest checked against the Kubernetes API schema of its apiVersion and kind. */
t.test('the Kubernetes manifests validate against the Kubernetes API schemas (kubernetes-models)', async (t) => {
  const all = await manifests()
  t.same(all.map((m) => m.kind).sort(), ['Deployment', 'HorizontalPodAutoscaler', 'Job', 'NetworkPolicy', 'PodDisruptionBudget', 'Service'])
  for (const manifest of all) {
    const models = await import(`kubernetes-models/${manifest.apiVersion}`) as Record<string, new (data: unknown) => { validate: () => void }>
    const Model = models[manifest.kind]
    if (Model === undefined) throw new Error(`kubernetes-models has no ${manifest.apiVersion} ${manifest.kind}`)
    t.doesNotThrow(() => new Model(manifest).validate(), `${manifest.kind} ${manifest.metadata.name}`)
  }
})

const budgetDoc = fileURLToPath(new URL('../../docs/deployment.md', import.meta.url))

t.test('the pool budget: DATABASE_POOL_MAX + 1 connections per pod, for maxReplicas + maxSurge pods, fits the budget docs/deployment.md states', async (t) => {
  const all = await manifests()
  const deployment = all.find((m) => m.kind === 'Deployment') as Manifest
  const autoscaler = all.find((m) => m.kind === 'HorizontalPodAutoscaler') as Manifest
  const [container] = deployment.spec.template.spec.containers as Manifest[]
  const poolMax = Number((container?.env as Manifest[]).find((e) => e.name === 'DATABASE_POOL_MAX')?.value ?? configSchema.properties.DATABASE_POOL_MAX.default)
  const maxSurge = deployment.spec.strategy.rollingUpdate.maxSurge
  t.type(maxSurge, 'number', 'maxSurge is a number of pods, not a percentage')
  const pods = autoscaler.spec.maxReplicas + maxSurge
  // The pool, plus the availability check's own short-lived connection (docs/deployment.md, Connections).
  const connections = pods * (poolMax + 1)
  const stated = /\*\*Connection budget: (\d+) connections\*\*/.exec(await readFile(budgetDoc, 'utf8'))?.[1]
  t.ok(stated, 'docs/deployment.md states the connection budget')
  t.ok(connections <= Number(stated), `${pods} pods x ${poolMax + 1} connections = ${connections}, within the budget of ${stated}`)
})

t.test('the pods: hardened, their metrics scrapeable, only the ingress controller reaching the API, the migration Job on the same image', async (t) => {
  const all = await manifests()
  const deployment = all.find((m) => m.kind === 'Deployment') as Manifest
  const job = all.find((m) => m.kind === 'Job') as Manifest
  for (const workload of [deployment, job]) {
    const pod = workload.spec.template.spec
    t.equal(pod.automountServiceAccountToken, false, `${workload.kind}: no service-account token`)
    t.match(pod.securityContext, { runAsNonRoot: true, runAsUser: Number, seccompProfile: { type: 'RuntimeDefault' } }, `${workload.kind}: a numeric non-root user, RuntimeDefault seccomp`)
    t.ok(pod.securityContext.runAsUser > 0)
    for (const container of pod.containers as Manifest[]) {
      t.same(container.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } }, `${workload.kind}: read-only, no escalation, no capabilities`)
      t.ok(container.resources.requests.memory && container.resources.limits.memory, `${workload.kind}: memory requested and limited`)
    }
  }

  const [api] = deployment.spec.template.spec.containers as Manifest[]
  const [migrate] = job.spec.template.spec.containers as Manifest[]
  t.equal(migrate?.image, api?.image, 'the migrations run from the image about to be rolled out')
  const packageJson = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> }
  t.same(api?.command, packageJson.scripts.start?.split(' ').slice(1), 'the pod runs what npm start runs, without npm')
  t.same(migrate?.command, ['node', 'dist/scripts/migrate.js'])
  t.same((migrate?.env as Manifest[]).map((e) => e.name).sort(), ['DATABASE_URL', 'NODE_ENV'], 'the Job is handed DATABASE_URL, never SECRET_KEY')
  t.equal(job.spec.template.spec.restartPolicy, 'Never')
  t.notSame(job.spec.template.metadata.labels, deployment.spec.template.metadata.labels, 'the Job\'s pod is not one of the Service\'s')

  const env = new Map((api?.env as Manifest[]).map((e) => [e.name, e.value]))
  const metricsPort = (api?.ports as Manifest[]).find((p) => p.name === 'metrics')?.containerPort
  t.equal(env.get('METRICS_HOST'), '0.0.0.0', 'metrics reachable from outside the pod')
  t.equal(Number(env.get('METRICS_PORT')), metricsPort, 'on the container port named metrics')
  const annotations = deployment.spec.template.metadata.annotations
  t.same(annotations, { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(metricsPort), 'prometheus.io/path': '/metrics' })

  const [policy] = all.filter((m) => m.kind === 'NetworkPolicy')
  t.same(policy?.spec.podSelector.matchLabels, deployment.spec.template.metadata.labels, 'the NetworkPolicy covers the API\'s pods')
  t.same(policy?.spec.policyTypes, ['Ingress'])
  const rules = policy?.spec.ingress as Manifest[]
  const portsOf = (rule: Manifest) => (rule.ports as Manifest[]).map((p) => p.port)
  t.same(rules.map(portsOf), [['http'], ['metrics']], 'two rules: the API port, the metrics port, nothing else')
  t.ok(rules[0]?.from.every((peer: Manifest) => peer.namespaceSelector && peer.podSelector && !peer.ipBlock), 'the API port from the ingress controller\'s pods in its namespace only')
  t.same(rules[1]?.from, [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }], 'metrics from the monitoring namespace only')
  t.ok(env.get('TRUST_PROXY'), 'TRUST_PROXY is what the NetworkPolicy makes true')
})

t.test('a readiness answer waits at most HEALTH_TIMEOUT_MS, below every balancer\'s check timeout', async (t) => {
  const healthTimeoutMs = configSchema.properties.HEALTH_TIMEOUT_MS.default
  const haproxyCheck = Number(/^\s*timeout check (\d+)s$/m.exec(await read('haproxy/haproxy.cfg'))?.[1]) * 1000
  t.ok(healthTimeoutMs < haproxyCheck, `HAProxy: ${healthTimeoutMs} ms < ${haproxyCheck} ms`)
  const deployment = (await manifests()).find((m) => m.kind === 'Deployment') as Manifest
  const probeTimeout = deployment.spec.template.spec.containers[0].readinessProbe.timeoutSeconds * 1000
  t.ok(healthTimeoutMs < probeTimeout, `Kubernetes: ${healthTimeoutMs} ms < ${probeTimeout} ms`)
})
