import { readFileSync } from 'node:fs'
import { parseEnv } from 'node:util'

/**
 * Loads `.env` from the working directory into process.env, without replacing variables the
 * environment already has (as process.loadEnvFile does, whose errors on Node 20 do not say what
 * went wrong). Each entry point calls it before it imports anything else (the rest by dynamic
 * import): some modules read process.env as they load (the logger's LOG_LEVEL, pg), and a bundle
 * evaluates static imports in an order of its own. Returns why the file could not be read; a
 * missing file is fine.
 */
export function loadEnvFile (): string | undefined {
  let text: string
  try {
    text = readFileSync('.env', 'utf8')
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : `cannot read .env: ${(error as Error).message}`
  }
  for (const [name, value] of Object.entries(parseEnv(text))) process.env[name] ??= value
  return undefined
}
