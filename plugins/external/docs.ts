import { readFile } from 'node:fs/promises'
import path from 'node:path'
import fp from 'fastify-plugin'
import fastifyStatic from '@fastify/static'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { redocBundlePath, redocPage, redocPolicy, swaggerUiAssets, swaggerUiPolicy } from '../../src/docs/pages.js'
import { packageVersion } from '../../src/project.js'

/**
 * The OpenAPI document (from the routes' TypeBox schemas) at /openapi.json, Swagger UI at /docs
 * and ReDoc at /redoc. Every asset is served by this server: no page loads anything from a CDN.
 */
export default fp(async function docs (fastify) {
  await fastify.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: fastify.config.APP_NAME,
        description: 'Youth soccer analytics platform API',
        version: packageVersion,
        // A private API: no open-source licence, and one team to ask.
        license: { name: 'Proprietary: for Spinta and its authorised clients only', url: 'https://spinta.example/terms' },
        contact: { name: 'Spinta API team', email: 'api@spinta.example' }
      },
      // Relative: requests go to the host and scheme the document was fetched from, behind a proxy
      // and in Swagger UI's Try it out alike.
      servers: [{ url: '/', description: 'The server that serves this document' }],
      tags: [
        { name: 'Root', description: 'Where to start' },
        { name: 'Health', description: 'Liveness, readiness and database checks for monitors and load balancers' },
        { name: 'Auth', description: 'Accounts and access tokens (OAuth2 password flow)' },
        { name: 'Users', description: 'The signed-in user' },
        { name: 'Teams', description: 'Teams, and who may do what in them' },
        { name: 'Players', description: 'A team\'s players: minors, so only what the game needs' },
        { name: 'Members', description: 'A team\'s members and roles, invitations, guardian links and the audit' }
      ],
      components: {
        securitySchemes: {
          // The password flow lets Swagger UI's Authorize button sign in with the form-encoded token endpoint.
          OAuth2PasswordBearer: { type: 'oauth2', flows: { password: { tokenUrl: '/api/auth/token', scopes: {} } } },
          HTTPBearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access_token from POST /api/auth/token' }
        }
      }
    }
  })

  const logo = await readFile(path.join(swaggerUiAssets, 'logo.svg'))
  await fastify.register(async function swaggerUiPages (pages) {
    // Swagger UI's routes are pages, with helmet's full set of headers (plugins/app/security-headers).
    pages.addHook('onRoute', (route) => { route.config = { ...route.config, contentSecurityPolicy: swaggerUiPolicy } })
    await pages.register(swaggerUi, {
      routePrefix: '/docs',
      staticCSP: swaggerUiPolicy,
      baseDir: swaggerUiAssets,
      logo: { type: 'image/svg+xml', content: logo }
    })
  })

  fastify.get('/openapi.json', { schema: { hide: true } }, async () => fastify.swagger())

  fastify.get('/redoc', { schema: { hide: true }, config: { contentSecurityPolicy: redocPolicy } }, async (_request, reply) => {
    return reply.type('text/html; charset=utf-8').send(redocPage)
  })
  // The bundle alone, from disk (few visitors read the docs), with ETag and Last-Modified for 304s.
  await fastify.register(async function redocBundle (assets) {
    await assets.register(fastifyStatic, {
      root: path.dirname(redocBundlePath),
      prefix: '/redoc/',
      allowedPath: (pathName) => pathName === `/${path.basename(redocBundlePath)}`,
      index: false,
      // swagger-ui already decorates the reply with @fastify/static's sendFile.
      decorateReply: false,
      maxAge: 86_400_000
    })
  })
}, { name: 'docs', dependencies: ['config', 'errors', 'metrics', 'security-headers'] })
