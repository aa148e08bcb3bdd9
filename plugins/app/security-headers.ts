import fp from 'fastify-plugin'
import { apiHeaders, helmetHeaders, helmetOptions, type Directives } from '../../src/http/security-headers.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Marks a route as a page: helmet's full set of headers, with these Content-Security-Policy directives. */
    contentSecurityPolicy?: Directives
  }
}

/** Security headers on every response, 404s and errors included; pages get helmet's full set with their own policy. */
export default fp(async function securityHeaders (fastify) {
  const jsonHeaders = apiHeaders()
  const pageHeaders = new WeakMap<Directives, Record<string, string>>()
  const headersOf = (directives: Directives) => {
    let headers = pageHeaders.get(directives)
    if (headers === undefined) {
      headers = helmetHeaders(helmetOptions(directives))
      pageHeaders.set(directives, headers)
    }
    return headers
  }

  fastify.addHook('onRequest', function setSecurityHeaders (request, reply, done) {
    const directives = request.routeOptions.config.contentSecurityPolicy
    reply.headers(directives === undefined ? jsonHeaders : headersOf(directives))
    done()
  })
}, { name: 'security-headers' })
