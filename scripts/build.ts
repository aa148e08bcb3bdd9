/**
 * `npm run build`: the production build. esbuild bundles the server, the migrate command and each
 * file of plugins/ and routes/ as its own entry point, keeping their paths (dist/src/server.js,
 * dist/plugins/app/*.js, dist/routes/**), so @fastify/autoload finds them exactly as it finds the
 * sources. Code they share, dependencies included, goes into a few chunks in dist/chunks/, so
 * Node reads a few dozen files at start-up instead of about a thousand. Dependencies are bundled
 * as published: development, tests and production run the same library code. Type checking is
 * `npm run typecheck`; esbuild only strips the types.
 *
 * The files the server reads at run time are copied beside the code (dist/migrations,
 * dist/vendor/redoc): with package.json and the lockfile, dist/ is the whole release.
 */
import { readdirSync } from 'node:fs'
import { cp, rm } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { build } from 'esbuild'
import { bundleOptions } from './bundle-options.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const { values: flags } = parseArgs({ options: { outdir: { type: 'string', default: path.join(root, 'dist') } } })
const outdir = path.resolve(flags.outdir)

function typescriptFiles (dir: string): string[] {
  return readdirSync(path.join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    .map((file) => path.join(root, dir, file))
}

// Stale entry points from an earlier build would be autoloaded as plugins or routes.
await rm(outdir, { recursive: true, force: true })
await build({
  ...bundleOptions,
  entryPoints: [path.join(root, 'src/server.ts'), path.join(root, 'scripts/migrate.ts'), ...typescriptFiles('plugins'), ...typescriptFiles('routes')],
  outdir,
  outbase: root
})

for (const dir of ['migrations', path.join('vendor', 'redoc')]) {
  await cp(path.join(root, dir), path.join(outdir, dir), { recursive: true })
}
