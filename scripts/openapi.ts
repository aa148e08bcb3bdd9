// Writes the OpenAPI document the code generates to openapi.json (`npm run openapi`), so that
// test/integration/openapi.test.ts, which compares the two, passes again after an API change.
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { buildApp } from '../src/app.js'
import { startThrowawayDatabase } from '../src/database/embedded.js'
import { projectRoot } from '../src/project.js'

const documentPath = path.join(projectRoot, 'openapi.json')

// A throwaway database and only the defaults of the config: a developer's .env must not change the document.
const database = await startThrowawayDatabase()
const server = buildApp({ env: { DATABASE_URL: database.url } })
try {
  await server.ready()
  const response = await server.inject({ method: 'GET', url: '/openapi.json' })
  if (response.statusCode !== 200) throw new Error(`GET /openapi.json answered ${response.statusCode}`)
  await writeFile(documentPath, JSON.stringify(response.json(), null, 2) + '\n')
  console.log(`wrote ${path.relative(process.cwd(), documentPath) || documentPath}`)
} finally {
  await server.close()
  await database.destroy()
}
