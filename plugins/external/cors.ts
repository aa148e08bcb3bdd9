import fp from 'fastify-plugin'
import cors from '@fastify/cors'

/**
 * CORS from CORS_ORIGINS: an allowed origin is echoed with credentials allowed, every method and
 * requested header is allowed; other origins get no
 * Access-Control-Allow-Origin. `*` (refused in production) reflects any origin.
 */
// After security-headers: preflights are answered in @fastify/cors's own hook and carry the security headers too.
export default fp(async function corsPolicy (fastify) {
  const origins = fastify.config.CORS_ORIGINS
  await fastify.register(cors, {
    origin: origins.includes('*') ? true : origins,
    credentials: true,
    // allowedHeaders is left unset: @fastify/cors then reflects Access-Control-Request-Headers.
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
    maxAge: 600,
    // An OPTIONS without Origin or Access-Control-Request-Method gets the same 204, not the plugin's text/plain 400.
    strictPreflight: false
  })
}, { name: 'cors', dependencies: ['config', 'errors', 'metrics', 'security-headers'] })
