import { SerializerSelector, type Serializer, type SerializerFactory } from '@fastify/fast-json-stringify-compiler'

type SerializerCache = WeakMap<object, Serializer>

/** Compiled serializers by serializer options, then by schema object. */
const sharedCaches = new WeakMap<object, SerializerCache>()
const noOptions = {}

/**
 * A serializer depends only on its schema, the options and the external schemas ($ref targets):
 * compilers without external schemas share one cache per options object (and so do apps built
 * with the same options, as the tests build many); a compiler with external schemas keeps its own.
 */
function serializerCache (externalSchemas: unknown, options: object | undefined): SerializerCache {
  if (Object.keys(externalSchemas ?? {}).length > 0) return new WeakMap()
  const key = options ?? noOptions
  let cache = sharedCaches.get(key)
  if (cache === undefined) {
    cache = new WeakMap()
    sharedCaches.set(key, cache)
  }
  return cache
}

/**
 * Fastify's own serializer compiler (fast-json-stringify), compiling each response schema once.
 * Fastify compiles per route and status, with a compiler per route file, and most schemas are
 * shared: a GET route's HEAD twin has the same ones, and every route answers errors with the one
 * problem schema.
 */
export const buildSerializerOncePerSchema: SerializerFactory = (externalSchemas, options) => {
  const compile = SerializerSelector()(externalSchemas, options)
  const compiled = serializerCache(externalSchemas, options)
  return (route) => {
    const { schema } = route
    // `true` and `false` are schemas too, and cannot be WeakMap keys.
    if (typeof schema !== 'object' || schema === null) return compile(route)
    let serialize = compiled.get(schema)
    if (serialize === undefined) {
      let compiledSerialize: Serializer | undefined
      serialize = (doc) => (compiledSerialize ??= compile(route))(doc)
      compiled.set(schema, serialize)
    }
    return serialize
  }
}
