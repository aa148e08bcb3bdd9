import fp from 'fastify-plugin'

/**
 * BODY_LIMIT_BYTES for every route added after this plugin, unless the route sets its own
 * `bodyLimit`: a larger body is refused with 413 before it is read whole. Fastify's server-wide
 * option cannot be used, as it is fixed before the configuration is read.
 */
export default fp(async function bodyLimit (fastify) {
  const limit = fastify.config.BODY_LIMIT_BYTES
  fastify.addHook('onRoute', (route) => {
    route.bodyLimit ??= limit
  })
}, { name: 'body-limit', dependencies: ['config'] })
