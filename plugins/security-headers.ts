import fp from 'fastify-plugin'
import helmet from '@fastify/helmet'

/**
 * Helmet's security headers on every response. The API answers JSON only, so its
 * Content-Security-Policy allows nothing at all and no page may frame it; the documentation pages
 * replace that policy with their own (plugins/docs.ts).
 */
export default fp(async function securityHeaders (fastify) {
  await fastify.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        'default-src': ["'none'"],
        'base-uri': ["'none'"],
        'form-action': ["'none'"],
        'frame-ancestors': ["'none'"]
      }
    },
    frameguard: { action: 'deny' }
  })
}, { name: 'security-headers' })
