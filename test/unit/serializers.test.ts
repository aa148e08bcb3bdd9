import t from 'tap'
import { buildSerializerOncePerSchema } from '../../src/http/serializers.js'

const welcome = { type: 'object', properties: { message: { type: 'string' } } }
const problem = { type: 'object', properties: { status: { type: 'integer' } } }

t.test('a response schema shared by several routes is compiled once, and serializes as its schema says', async (t) => {
  const compile = buildSerializerOncePerSchema({}, {})
  const get = compile({ schema: welcome, method: 'GET', url: '/', httpStatus: '200' })
  t.equal(compile({ schema: welcome, method: 'HEAD', url: '/', httpStatus: '200' }), get, 'the HEAD twin reuses the GET route\'s serializer')
  t.equal(get({ message: 'hi', password: 'secret' }), '{"message":"hi"}', 'properties outside the schema are left out')

  const problemOfRoot = compile({ schema: problem, method: 'GET', url: '/', httpStatus: 'default' })
  t.not(problemOfRoot, get, 'another schema gets its own serializer')
  t.equal(compile({ schema: problem, method: 'POST', url: '/api/auth/token', httpStatus: 'default' }), problemOfRoot)
  t.equal(problemOfRoot({ status: 404 }), '{"status":404}')
})

t.test('route files, which Fastify gives a compiler each, share what was compiled with the same options', async (t) => {
  const options = {}
  const root = buildSerializerOncePerSchema({}, options)({ schema: problem, method: 'GET', url: '/', httpStatus: 'default' })
  t.equal(buildSerializerOncePerSchema({}, options)({ schema: problem, method: 'GET', url: '/api/health', httpStatus: 'default' }), root)
  t.not(buildSerializerOncePerSchema({}, { rounding: 'floor' })({ schema: problem, method: 'GET', url: '/api/health', httpStatus: 'default' }), root, 'other options, another serializer')

  // A $ref target changes what a schema compiles to: a compiler with external schemas keeps its own.
  const withRef = { type: 'object', properties: { status: { $ref: 'status#' } } }
  const external = { status: { $id: 'status', type: 'integer' } }
  const first = buildSerializerOncePerSchema(external, options)({ schema: withRef, method: 'GET', url: '/a', httpStatus: '200' })
  t.equal(first({ status: 7 }), '{"status":7}')
  t.not(buildSerializerOncePerSchema(external, options)({ schema: withRef, method: 'GET', url: '/b', httpStatus: '200' }), first)
})

t.test('an equal but separate schema object is compiled on its own; boolean schemas are compiled each time', async (t) => {
  const compile = buildSerializerOncePerSchema({}, {})
  const first = compile({ schema: welcome, method: 'GET', url: '/a', httpStatus: '200' })
  t.not(compile({ schema: structuredClone(welcome), method: 'GET', url: '/b', httpStatus: '200' }), first)
  t.equal(compile({ schema: true, method: 'GET', url: '/c', httpStatus: '200' })({ any: 'thing' }), '{"any":"thing"}')
})
