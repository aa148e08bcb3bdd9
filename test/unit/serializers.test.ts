import t from 'tap'
import { buildSerializerOncePerSchema } from '../../src/app.js'

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

t.test('an equal but separate schema object is compiled on its own', async (t) => {
  const compile = buildSerializerOncePerSchema({}, {})
  const first = compile({ schema: welcome, method: 'GET', url: '/a', httpStatus: '200' })
  t.not(compile({ schema: structuredClone(welcome), method: 'GET', url: '/b', httpStatus: '200' }), first)
})
