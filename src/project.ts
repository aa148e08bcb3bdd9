import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The project's top folder: the nearest one above this module holding package.json. Found, not
 * counted: this code runs from src/ and, once built, from a chunk somewhere under dist/.
 */
function findProjectRoot (from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`)
  }
}

export const projectRoot = findProjectRoot(path.dirname(fileURLToPath(import.meta.url)))

const packageJson: { name: string, version: string } = JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8'))

/** package.json is the one source of the version the API reports. */
export const packageVersion = packageJson.version

/** The app's name where a name is wanted rather than a title (the service name of its traces). */
export const packageName = packageJson.name
