import { createRequire } from 'node:module'
import path from 'node:path'
import { runtimeFilesRoot } from '../project.js'

export const redocBundlePath = path.join(runtimeFilesRoot, 'vendor', 'redoc', 'redoc.standalone.js')

/**
 * Swagger UI's assets, named here rather than found by @fastify/swagger-ui from its own
 * `__dirname`, which is not its package's once the production build has bundled it.
 */
export const swaggerUiAssets = path.join(path.dirname(createRequire(import.meta.url).resolve('@fastify/swagger-ui')), 'static')

export const redocPage = `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>API reference</title>
  <style>body { margin: 0; padding: 0; }</style>
</head>
<body>
  <redoc spec-url="/openapi.json"></redoc>
  <script src="/redoc/redoc.standalone.js"></script>
</body>
</html>
`

/**
 * The documentation pages' Content-Security-Policy, the least each UI works with in a browser:
 * scripts, styles and the document from this server, the <style>
 * elements and data: images both UIs create, and for ReDoc the blob: worker its search runs in.
 * ReDoc's footer logo from cdn.redoc.ly is refused on purpose: the page renders without it.
 */
export const swaggerUiPolicy = {
  'default-src': ["'none'"],
  'script-src': ["'self'"],
  'style-src': ["'self'", "'unsafe-inline'"],
  'img-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  'base-uri': ["'none'"],
  'form-action': ["'none'"],
  'frame-ancestors': ["'none'"]
}
export const redocPolicy = { ...swaggerUiPolicy, 'worker-src': ['blob:'] }
