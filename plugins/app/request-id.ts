import fp from 'fastify-plugin'

/**
 * Every response carries its request's id in X-Request-Id (genReqId makes it), the id
 * that labels the request's log lines and error bodies. Registered before the plugins that may
 * answer in their own onRequest hooks (CORS preflights), so their answers carry it too.
 */
export default fp(async function requestId (fastify) {
  fastify.addHook('onRequest', function echoRequestId (request, reply, done) {
    reply.header('x-request-id', request.id)
    done()
  })
}, { name: 'request-id' })
