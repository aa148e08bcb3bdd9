import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const moduleDir = path.dirname(fileURLToPath(import.meta.url))

/**
 * The nearest folder above this module holding `entry`. Found, not counted: this code runs from
 * src/ and, once built, from a chunk somewhere under dist/.
 */
function findAbove (entry: string): string {
  for (let dir = moduleDir; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, entry))) return dir
    if (path.dirname(dir) === dir) throw new Error(`no ${entry} above ${moduleDir}`)
  }
}

/** The project's top folder, holding package.json. */
export const projectRoot = findAbove('package.json')

/**
 * Where the files the server reads at run time live (migrations/, vendor/redoc/): the project
 * root when it runs from the sources; the build's own folder (dist/) once built, as
 * scripts/build.ts copies them there, so a release needs nothing of the checkout but package.json.
 */
export const runtimeFilesRoot = findAbove('migrations')

const packageJson: { name: string, version: string } = JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8'))

/** package.json is the one source of the version the API reports. */
export const packageVersion = packageJson.version

/** The app's name where a name is wanted rather than a title (the service name of its traces). */
export const packageName = packageJson.name
