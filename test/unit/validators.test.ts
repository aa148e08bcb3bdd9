import t from 'tap'
import Fastify from 'fastify'
import { serverOptions } from '../../src/http/server-options.js'

t.test('validators compiled on first use refuse and accept as Ajv does, each request with its own errors', async (t) => {
  const app = Fastify({ ajv: serverOptions.ajv, schemaController: serverOptions.schemaController })
  t.teardown(() => app.close())
  app.post('/', {
    schema: { body: { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 2 }, age: { type: 'integer', minimum: 0 } }, additionalProperties: false } }
  }, async (request) => request.body)

  const first = await app.inject({ method: 'POST', url: '/', payload: { name: 'x' } })
  t.equal(first.statusCode, 400)
  t.match(first.json().message, 'body/name must NOT have fewer than 2 characters')
  const valid = await app.inject({ method: 'POST', url: '/', payload: { name: 'Mia', age: '9' } })
  t.equal(valid.statusCode, 200)
  t.same(valid.json(), { name: 'Mia', age: 9 }, 'coerced as Fastify\'s default validators coerce')
  const second = await app.inject({ method: 'POST', url: '/', payload: { name: 'Mia', age: -1, extra: true } })
  t.equal(second.statusCode, 400)
  t.notMatch(second.json().message, 'fewer than 2 characters', 'not the errors of an earlier request')
  t.match(second.json().message, 'must be >= 0')
  t.match(second.json().message, 'must NOT have additional properties', 'every problem, not the first only')
})
