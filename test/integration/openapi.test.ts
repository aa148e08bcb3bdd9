import { readFile } from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import SwaggerParser from '@apidevtools/swagger-parser'
import { Ajv } from 'ajv'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { AjvCompiler } from '@fastify/ajv-compiler'
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler'
import type { FastifySchema, RouteOptions } from 'fastify'
import { buildApp, startTestDatabase, testEnv } from '../helper.js'
import { serverOptions } from '../../src/http/server-options.js'
import { projectRoot } from '../../src/project.js'

const REFRESH_COMMAND = 'npm run openapi'
const methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']

interface MediaType { schema?: object, example?: unknown, examples?: Record<string, { value: unknown }> }
interface Operation {
  operationId?: string
  summary?: string
  description?: string
  tags?: string[]
  requestBody?: { content: Record<string, MediaType> }
  responses: Record<string, { description: string, content?: Record<string, MediaType> }>
}

const database = await startTestDatabase(t)
const app = await buildApp(t, testEnv(database))
const response = await app.inject({ method: 'GET', url: '/openapi.json' })
const document = response.json()
const operations: Array<{ name: string, operation: Operation }> = Object.entries(document.paths as Record<string, Record<string, Operation>>)
  .flatMap(([route, item]) => methods.filter((method) => item[method] !== undefined)
    .map((method) => ({ name: `${method.toUpperCase()} ${route}`, operation: item[method] })))

// Read once the app is ready (plugins' onRoute hooks replace a route's schema: the errors plugin adds
// `default`), and before the first t.test: tap refuses a subtest made after the queued ones have ended.
const routes: RouteOptions[] = []
await buildApp(t, testEnv(database), { onRoute: (route) => { routes.push(route) } })
const hasSchema = (route: RouteOptions): route is RouteOptions & { schema: FastifySchema } => route.schema !== undefined
/** A body or response is a schema, or OpenAPI's { content: { <media type>: { schema } } }. */
const schemasIn = (part: unknown): unknown[] => {
  const { content } = part as { content?: Record<string, { schema: unknown }> }
  return content === undefined ? [part] : Object.values(content).map((media) => media.schema)
}

t.test('GET /openapi.json is an OpenAPI 3.1 document that passes swagger-parser', async (t) => {
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^application\/json/)
  t.equal(document.openapi, '3.1.0')
  // validate() dereferences in place: give it a copy.
  await t.resolves(SwaggerParser.validate(structuredClone(document)))
})

t.test('swagger-parser rejects a broken document, so its pass above means something', async (t) => {
  const broken = structuredClone(document)
  broken.paths['/'].get.tags = 'Root'
  delete broken.paths['/api/health'].get.responses['200'].description
  await t.rejects(SwaggerParser.validate(broken), { message: /tags[\s\S]*description|description[\s\S]*tags/ })
})

t.test('every operation has a unique operationId, a summary, a description and declared tags', async (t) => {
  t.ok(operations.length >= 2, `${operations.length} operations`)
  const declaredTags = new Set((document.tags as Array<{ name: string }>).map((tag) => tag.name))
  t.ok(declaredTags.has('Root') && declaredTags.has('Health'))
  for (const { name, operation } of operations) {
    t.match(operation.operationId, /^[a-zA-Z][a-zA-Z0-9]*$/, `${name} has an operationId`)
    t.ok(operation.summary?.trim(), `${name} has a summary`)
    t.ok(operation.description?.trim(), `${name} has a description`)
    t.ok((operation.tags?.length ?? 0) > 0, `${name} has tags`)
    for (const tag of operation.tags ?? []) t.ok(declaredTags.has(tag), `${name}: tag ${tag} is declared with a description`)
  }
  const ids = operations.map(({ operation }) => operation.operationId)
  t.same(ids.filter((id, index) => ids.indexOf(id) !== index), [], 'no operationId is used twice')
})

t.test('every body has a valid JSON Schema; every response body has examples that match it', async (t) => {
  // OpenAPI 3.1 schemas are JSON Schema 2020-12, which swagger-parser does not look inside.
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false })
  function checkBody (where: string, media: MediaType, exampleRequired: boolean): void {
    if (media.schema === undefined) {
      t.fail(`${where} has a schema`)
      return
    }
    const schema = media.schema as { examples?: unknown[] }
    const examples = [
      ...(media.example === undefined ? [] : [media.example]),
      ...Object.values(media.examples ?? {}).map((example) => example.value),
      ...(schema.examples ?? [])
    ]
    if (exampleRequired) t.ok(examples.length > 0, `${where} has an example`)
    const validate = ajv.compile(schema)
    for (const example of examples) {
      t.ok(validate(example), `${where}: example ${JSON.stringify(example)} matches the schema`, { errors: validate.errors })
    }
  }

  for (const { name, operation } of operations) {
    t.ok(Object.keys(operation.responses).some((status) => /^2\d\d$/.test(status)), `${name} documents a success response`)
    for (const [status, { content = {} }] of Object.entries(operation.responses)) {
      for (const [type, media] of Object.entries(content)) checkBody(`${name} ${status} ${type}`, media, true)
    }
    for (const [type, media] of Object.entries(operation.requestBody?.content ?? {})) checkBody(`${name} request ${type}`, media, false)
  }
})

t.test('every route schema, hidden routes included, passes JSON Schema\'s meta-schema', async (t) => {
  // The server options turn Ajv's meta-schema check off at start-up; this is where a malformed schema is caught.

  const ajv = new Ajv()
  const isSchema = (schema: unknown) => ajv.validateSchema(schema as object) as boolean
  t.notOk(isSchema({ type: 'object', properties: { age: { type: 'integer', minimum: 'one' } } }), 'a malformed schema fails the check')
  t.ok(routes.length > operations.length, `${routes.length} routes, the hidden ones included`)
  for (const { method, url, schema } of routes.filter(hasSchema)) {
    const name = `${[method].flat().join(',')} ${url}`
    for (const part of ['querystring', 'params', 'headers'] as const) {
      if (schema[part] !== undefined) t.ok(isSchema(schema[part]), `${name} ${part}`, { errors: ajv.errors })
    }
    if (schema.body !== undefined) for (const body of schemasIn(schema.body)) t.ok(isSchema(body), `${name} body`, { errors: ajv.errors })
    for (const [status, response] of Object.entries(schema.response ?? {})) {
      for (const body of schemasIn(response)) t.ok(isSchema(body), `${name} response ${status}`, { errors: ajv.errors })
    }
  }
})

t.test('every route schema compiles with the compilers the server uses, which compile each on its first use', async (t) => {
  // A schema Ajv or fast-json-stringify cannot compile would otherwise fail only its route's first request.
  const validators = AjvCompiler()({}, { customOptions: serverOptions.ajv?.customOptions ?? {}, plugins: [] })
  const serializers = SerializerSelector()({}, {})
  t.throws(() => validators({ schema: { type: 'object', frobnicate: true }, method: 'GET', url: '/', httpPart: 'body' }), 'a keyword Ajv does not know fails')
  t.throws(() => serializers({ schema: { $ref: '#/missing' }, method: 'GET', url: '/', httpStatus: '200' }), 'a reference that leads nowhere fails')
  for (const { method, url, schema } of routes.filter(hasSchema)) {
    const name = `${[method].flat().join(',')} ${url}`
    const httpMethod = [method].flat()[0]!
    for (const httpPart of ['querystring', 'params', 'headers', 'body'] as const) {
      for (const part of schema[httpPart] === undefined ? [] : schemasIn(schema[httpPart])) {
        t.doesNotThrow(() => validators({ schema: part as object, method: httpMethod, url, httpPart }), `${name} ${httpPart}`)
      }
    }
    for (const [httpStatus, response] of Object.entries(schema.response ?? {})) {
      for (const part of schemasIn(response)) {
        t.doesNotThrow(() => serializers({ schema: part as object, method: httpMethod, url, httpStatus }), `${name} response ${httpStatus}`)
      }
    }
  }
})

t.test('a status an operation answers but does not document fails the test that produced it', async (t) => {
  const found: string[] = []
  await t.test('an app whose GET / answers 418', async (t) => {
    const app = await buildApp(t, testEnv(database), {
      onRoute: (route) => {
        if (route.url !== '/' || route.method !== 'GET') return
        route.handler = async (request, reply) => reply.code(418).type('application/problem+json')
          .send(JSON.stringify({ type: 'about:blank', title: 'I\'m a Teapot', status: 418, detail: 'teapot', requestId: request.id }))
      },
      onUndocumented: (answer) => { found.push(answer) }
    })
    t.equal((await app.inject({ method: 'GET', url: '/' })).statusCode, 418)
    t.same(found, ['GET / (getRoot) answered 418, which its operation does not document'], 'named at the request that answered it')
    t.equal((await app.inject({ method: 'GET', url: '/api/health' })).statusCode, 200)
    t.equal((await app.inject({ method: 'GET', url: '/nowhere' })).statusCode, 404)
  })
  t.same(found, ['GET / (getRoot) answered 418, which its operation does not document'], 'only the undocumented 418 is named')
})

t.test('internal routes (docs pages, their assets, the document itself) are hidden', async (t) => {
  const paths = Object.keys(document.paths)
  t.same(paths.filter((route) => /^\/(docs|redoc|openapi\.json)/.test(route)), [])
  t.ok(paths.every((route) => route === '/' || route.startsWith('/api/')), `only the API is documented: ${paths.join(', ')}`)
})

t.test(`the committed openapi.json matches the code (refresh: ${REFRESH_COMMAND})`, async (t) => {
  const committedPath = path.join(projectRoot, 'openapi.json')
  const committed = await readFile(committedPath, 'utf8').then(JSON.parse, () => undefined)
  t.ok(committed !== undefined, `${committedPath} exists and is JSON; create it with: ${REFRESH_COMMAND}`)
  t.strictSame(document, committed, `openapi.json is out of date: run \`${REFRESH_COMMAND}\` and commit the result`)
})
