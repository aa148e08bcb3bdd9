// Writes the OpenAPI document the code generates to openapi.json (`npm run openapi`), so that
// test/integration/openapi.test.ts, which compares the two, passes again after an API change.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import Fastify from 'fastify'
import fp from 'fastify-plugin'
import app, { serverOptions } from '../src/app.js'
import { startEmbeddedDatabase } from '../src/embedded-database.js'
import { projectRoot } from '../src/project.js'

const documentPath = path.join(projectRoot, 'openapi.json')

// A throwaway database and only the defaults of the config: a developer's .env must not change the document.
const dir = await mkdtemp(path.join(tmpdir(), 'spinta-openapi-'))
const database = await startEmbeddedDatabase({ dataDir: path.join(dir, 'data') })
const server = Fastify({ ...serverOptions, logger: false })
server.register(fp(app), { env: { DATABASE_URL: database.url } })
try {
  await server.ready()
  const response = await server.inject({ method: 'GET', url: '/openapi.json' })
  if (response.statusCode !== 200) throw new Error(`GET /openapi.json answered ${response.statusCode}`)
  await writeFile(documentPath, JSON.stringify(response.json(), null, 2) + '\n')
  console.log(`wrote ${path.relative(process.cwd(), documentPath) || documentPath}`)
} finally {
  await server.close()
  await database.stop()
  await rm(dir, { recursive: true, force: true })
}
