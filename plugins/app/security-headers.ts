import fp from 'fastify-plugin'
import { API_HEADERS, pageHeaders, type Directives } from '../../src/http/security-headers.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Marks a route as a page: helmet's full set of headers, with these Content-Security-Policy directives. */
    contentSecurityPolicy?: Directives
  }
}

/**
 * Security headers on every response; pages get helmet's full set with their own policy. Errors,
 * whatever stage they happen at, are problem details, which carry the API's set (sendProblem).
 */
export default fp(async function securityHeaders (fastify) {
  const headersByPolicy = new WeakMap<Directives, Record<string, string>>()
  const headersOf = (directives: Directives) => {
    let headers = headersByPolicy.get(directives)
    if (headers === undefined) {
      headers = pageHeaders(directives)
      headersByPolicy.set(directives, headers)
    }
    return headers
  }

  fastify.addHook('onRequest', function setSecurityHeaders (request, reply, done) {
    const directives = request.routeOptions.config.contentSecurityPolicy
    reply.headers(directives === undefined ? API_HEADERS : headersOf(directives))
    done()
  })
}, { name: 'security-headers' })
