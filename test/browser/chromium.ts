import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { homedir, tmpdir } from 'node:os'
import path from 'node:path'
import { chromium, type BrowserContext } from 'playwright-core'

/**
 * Where Chromium or Chrome usually is on Linux and macOS. playwright-core drives an installed
 * browser: Playwright's own browser download needs the internet, which CI does not have.
 */
const usualPlaces = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/snap/bin/chromium',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
  path.join(homedir(), 'Applications/Google Chrome.app/Contents/MacOS/Google Chrome'),
  path.join(homedir(), 'Applications/Chromium.app/Contents/MacOS/Chromium')
]

/** CHROME_PATH when set, otherwise the first browser found in the usual places. */
export function findChromium (env = process.env): string {
  if (env.CHROME_PATH !== undefined && env.CHROME_PATH !== '') {
    if (!existsSync(env.CHROME_PATH)) throw new Error(`CHROME_PATH is ${env.CHROME_PATH}, which does not exist`)
    return env.CHROME_PATH
  }
  const found = usualPlaces.find((place) => existsSync(place))
  if (found === undefined) {
    throw new Error('the browser tests drive a real Chromium or Chrome, and none was found: install one ' +
      '(Debian/Ubuntu: `sudo apt-get install -y chromium`; macOS: Google Chrome from google.com/chrome) ' +
      'or set CHROME_PATH to its executable')
  }
  return found
}

// Flags that keep Chromium from reaching out on a closed network (updates, sync, QUIC probes).
const quietFlags = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

/** A headless Chromium with a throwaway profile, closed and removed when the test ends. */
export async function launchChromium (t: { teardown: (fn: () => unknown) => void }): Promise<BrowserContext> {
  const executablePath = findChromium()
  // Playwright refuses --user-data-dir in args: a persistent context takes the profile directory instead.
  const profile = await mkdtemp(path.join(tmpdir(), 'spinta-chromium-'))
  const browser = await chromium.launchPersistentContext(profile, { executablePath, headless: true, args: quietFlags })
  t.teardown(async () => {
    await browser.close()
    await rm(profile, { recursive: true, force: true })
  })
  return browser
}
