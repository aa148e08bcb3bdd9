import t from 'tap'
import { buildApp, startTestDatabase, testEnv } from '../helper.js'
import { bearer, newAccount, signedIn } from '../accounts.js'

/** The parts of a JSON Schema that bound a value. */
interface Schema {
  type?: string | string[]
  enum?: unknown[]
  const?: unknown
  format?: string
  maxLength?: number
  maximum?: number
  exclusiveMaximum?: number
  maxItems?: number
  items?: Schema
  maxProperties?: number
  properties?: Record<string, Schema>
  additionalProperties?: boolean | Schema
  anyOf?: Schema[]
  oneOf?: Schema[]
}
interface MediaType { schema: Schema, example?: Record<string, unknown>, examples?: Record<string, { value: Record<string, unknown> }> }
interface Operation {
  security?: unknown[]
  parameters?: Array<{ name: string, in: string, schema: Schema }>
  requestBody?: { content: Record<string, MediaType> }
}

// Formats whose values have a fixed length or shape; `email` is not one of them.
const boundedFormats = new Set(['uuid', 'date', 'date-time', 'time'])

/** Where `schema` lets a value grow without limit, as JSON Pointers from `where`. */
function unbounded (schema: Schema, where: string): string[] {
  if (schema.enum !== undefined || schema.const !== undefined) return []
  const alternatives = schema.anyOf ?? schema.oneOf
  if (alternatives !== undefined) return alternatives.flatMap((alternative) => unbounded(alternative, where))
  const types = [schema.type ?? []].flat()
  const found: string[] = []
  if (types.includes('string') && schema.maxLength === undefined && !boundedFormats.has(schema.format ?? '')) found.push(`${where} (string without maxLength)`)
  if ((types.includes('integer') || types.includes('number')) && schema.maximum === undefined && schema.exclusiveMaximum === undefined) found.push(`${where} (number without maximum)`)
  if (types.includes('array')) {
    if (schema.maxItems === undefined) found.push(`${where} (array without maxItems)`)
    if (schema.items !== undefined) found.push(...unbounded(schema.items, `${where}/items`))
  }
  if (types.includes('object')) {
    if (schema.additionalProperties !== false && schema.maxProperties === undefined) found.push(`${where} (object neither closed nor with maxProperties)`)
    if (typeof schema.additionalProperties === 'object') found.push(...unbounded(schema.additionalProperties, `${where}/*`))
    for (const [name, property] of Object.entries(schema.properties ?? {})) found.push(...unbounded(property, `${where}/${name}`))
  }
  return found
}

const database = await startTestDatabase(t)
// Limits high enough that the requests below are refused by validation alone, never by a rate limit.
const app = await buildApp(t, testEnv(database, { PASSWORD_CHECKS_PER_MINUTE: '1000', LOGIN_ATTEMPTS_PER_MINUTE: '1000' }))
const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json()
// Operations that need a signed-in user validate their body only once the token is checked. This
// password is not the one in the examples, so a probe that passes validation changes nothing.
const account = await signedIn(app, newAccount('bounds'))
const { authorization } = bearer(account.access_token)
// Path parameters name real objects the account may use: a team it coaches, a player of it, itself.
const team = (await app.inject({ method: 'POST', url: '/api/teams', headers: { authorization }, payload: { name: 'Bounds' } })).json()
const player = (await app.inject({ method: 'POST', url: `/api/teams/${team.id}/players`, headers: { authorization }, payload: { display_name: 'Bounds', birth_year: 2014, position: 'defender' } })).json()
const pathParameters: Record<string, string> = { team_id: team.id, player_id: player.id, user_id: account.id }
const concrete = (path: string) => path.replace(/\{(\w+)\}/g, (_, name: string) => pathParameters[name])
const operations = Object.entries(document.paths as Record<string, Record<string, Operation>>)
  .flatMap(([path, item]) => Object.entries(item).map(([method, operation]) => ({ method: method.toUpperCase(), path, operation })))

t.test('every request input in the document is bounded: strings, numbers, arrays and objects', async (t) => {
  const bodies = operations.filter(({ operation }) => operation.requestBody !== undefined)
  t.ok(bodies.length >= 2, `${bodies.length} operations take a body`)
  for (const { method, path, operation } of operations) {
    const found = [
      ...(operation.parameters ?? []).flatMap((parameter) => unbounded(parameter.schema, `/${parameter.in}/${parameter.name}`)),
      ...Object.entries(operation.requestBody?.content ?? {}).flatMap(([type, media]) => unbounded(media.schema, `/body (${type})`))
    ]
    t.same(found, [], `${method} ${path}: no unbounded input`)
  }
})

t.test('one past each bound of a request body gets 400 naming it; the bound itself passes validation', async (t) => {
  let probes = 0
  for (const { method, path, operation } of operations) {
    for (const [type, { schema, example: only, examples }] of Object.entries(operation.requestBody?.content ?? {})) {
      const example = only ?? Object.values(examples ?? {})[0]?.value
      if (example === undefined) {
        t.fail(`${method} ${path} ${type} has an example to start from`)
        continue
      }
      const send = (body: Record<string, unknown>) => app.inject({
        method,
        url: concrete(path),
        headers: { 'content-type': type, ...((operation.security ?? []).length > 0 ? { authorization } : {}) },
        payload: type.endsWith('json') ? JSON.stringify(body) : new URLSearchParams(body as Record<string, string>).toString()
      })
      /**
       * The problems of a 400, as `{ path, message }`. The token endpoint answers RFC 6749 errors
       * instead, whose `invalid_request` description lists "<parameter> <message>" parts.
       */
      const errorsOf = (response: Awaited<ReturnType<typeof send>>): Array<{ path: string, message: string }> => {
        const body = response.json()
        if (body.error === undefined) return body.errors ?? []
        if (body.error === 'unsupported_grant_type') return [{ path: '/body/grant_type', message: 'must be equal to one of the allowed values' }]
        return String(body.error_description).split('; ').map((part) => {
          const [, name, message] = /^(the form|\S+) (.*)$/.exec(part) ?? [undefined, '', part]
          return { path: name === 'the form' ? '/body' : `/body/${name}`, message }
        })
      }
      /** `body` is refused with 400, with `message` at `pointer`; `atBound` is not refused at `pointer`. */
      const probe = async (pointer: string, message: RegExp, past: Record<string, unknown>, atBound?: Record<string, unknown>) => {
        probes += 1
        const refused = await send(past)
        t.equal(refused.statusCode, 400, `${method} ${path}: ${pointer} past its bound gets 400`)
        t.match(errorsOf(refused), [{ path: pointer, message }], `${method} ${path}: the problem names ${pointer}`)
        if (atBound === undefined) return
        const accepted = await send(atBound)
        const errors = accepted.statusCode === 400 ? errorsOf(accepted) : []
        t.notOk(errors.some((error) => error.path === pointer), `${method} ${path}: ${pointer} at its bound is valid (answered ${accepted.statusCode})`)
      }
      // Longer values keep their shape (an email stays an email): characters go in front.
      const lengthened = (value: unknown, length: number) => {
        const text = typeof value === 'string' ? value : 'x'
        return 'a'.repeat(Math.max(0, length - text.length)) + text
      }

      for (const [name, property] of Object.entries(schema.properties ?? {})) {
        const pointer = `/body/${name}`
        if (property.maxLength !== undefined) {
          const max = property.maxLength
          await probe(pointer, new RegExp(`must NOT have more than ${max} characters`),
            { ...example, [name]: lengthened(example[name], max + 1) }, { ...example, [name]: lengthened(example[name], max) })
        }
        const allowed = property.enum ?? (property.const === undefined ? undefined : [property.const])
        if (allowed !== undefined) await probe(pointer, /must be equal to/, { ...example, [name]: `not-${String(allowed[0])}` })
      }
      if (schema.additionalProperties === false) {
        await probe('/body/unknown_member', /must NOT have additional properties/, { ...example, unknown_member: 'x' })
      }
      if (typeof schema.additionalProperties === 'object' && schema.additionalProperties.maxLength !== undefined) {
        const max = schema.additionalProperties.maxLength
        await probe('/body/unknown_member', new RegExp(`must NOT have more than ${max} characters`),
          { ...example, unknown_member: 'x'.repeat(max + 1) }, { ...example, unknown_member: 'x'.repeat(max) })
      }
      if (schema.maxProperties !== undefined) {
        const max = schema.maxProperties
        const withMembers = (count: number) => ({
          ...example,
          ...Object.fromEntries(Array.from({ length: count - Object.keys(example).length }, (_, index) => [`extra_${index}`, 'x']))
        })
        await probe('/body', new RegExp(`must NOT have more than ${max} properties`), withMembers(max + 1), withMembers(max))
      }
    }
  }
  t.ok(probes >= 8, `${probes} bounds probed`)
})

t.test('one past each bound of a query parameter gets 400 naming it; the bound itself is accepted', async (t) => {
  let probes = 0
  for (const { method, path, operation } of operations) {
    for (const { name, in: where, schema } of operation.parameters ?? []) {
      if (where !== 'query' || schema.maximum === undefined) continue
      const minimum = (schema as { minimum?: number }).minimum ?? 0
      for (const [value, refused] of [[schema.maximum + 1, true], [minimum - 1, true], [schema.maximum, false], [minimum, false]] as const) {
        probes += 1
        const answer = await app.inject({ method, url: `${concrete(path)}?${name}=${value}`, headers: { authorization } })
        if (refused) {
          t.equal(answer.statusCode, 400, `${method} ${path}?${name}=${value} gets 400`)
          t.match(answer.json().errors, [{ path: `/querystring/${name}` }], `${method} ${path}: the problem names ${name}`)
        } else {
          t.equal(answer.statusCode, 200, `${method} ${path}?${name}=${value} is accepted`)
        }
      }
    }
  }
  t.ok(probes >= 16, `${probes} query bounds probed`)
})
