import type { IncomingMessage, ServerResponse } from 'node:http'
import fp from 'fastify-plugin'
import helmet, { type HelmetOptions } from 'helmet'

type Directives = Record<string, string[]>

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A page's own Content-Security-Policy directives, in place of the API's (plugins/docs.ts). */
    contentSecurityPolicy?: Directives
    /** Set by this plugin: the route's precomputed security headers. */
    securityHeaders?: Record<string, string>
  }
}

/** The API answers JSON only: its policy allows nothing at all, and no page may frame it. */
const apiPolicy: Directives = {
  'default-src': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'none'"],
  'frame-ancestors': ["'none'"]
}

function helmetOptions (directives: Directives): HelmetOptions {
  return { contentSecurityPolicy: { useDefaults: false, directives }, frameguard: { action: 'deny' } }
}

/**
 * The headers helmet sets for these options. Its headers depend on its options alone, so they are
 * computed once per policy: @fastify/helmet runs helmet anew for every request, which cost about
 * 14% of the CPU of a request to GET / (README, "Performance").
 */
function helmetHeaders (options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {}
  const recorder = {
    setHeader (name: string, value: string) { headers[name.toLowerCase()] = value },
    removeHeader (name: string) { delete headers[name.toLowerCase()] }
  }
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, () => {})
  return headers
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
