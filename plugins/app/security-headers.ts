import fp from 'fastify-plugin'
import { apiPolicy, helmetHeaders, helmetOptions, type Directives } from '../../src/http/security-headers.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A page's own Content-Security-Policy directives, in place of the API's. */
    contentSecurityPolicy?: Directives
    /** Set by this plugin: the route's precomputed security headers. */
    securityHeaders?: Record<string, string>
  }
}

/** helmet's security headers on every response, 404s and errors included. */
export default fp(async function securityHeaders (fastify) {
  const apiHeaders = helmetHeaders(helmetOptions(apiPolicy))

  fastify.addHook('onRoute', (route) => {
    const directives = route.config?.contentSecurityPolicy
    if (directives !== undefined) {
      route.config = { ...route.config, securityHeaders: helmetHeaders(helmetOptions(directives)) }
    }
  })

  fastify.addHook('onRequest', function setSecurityHeaders (request, reply, done) {
    reply.headers(request.routeOptions.config.securityHeaders ?? apiHeaders)
    done()
  })
}, { name: 'security-headers' })
