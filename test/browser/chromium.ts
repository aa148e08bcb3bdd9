import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { chromium, type BrowserContext } from 'playwright-core'

// Debian's Chromium, driven by playwright-core: Playwright's own browser downloads need the internet.
const executablePath = '/usr/bin/chromium'

// Flags that keep Chromium from reaching out on a closed network (updates, sync, QUIC probes).
const quietFlags = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

/** A headless Chromium with a throwaway profile, closed and removed when the test ends. */
export async function launchChromium (t: { teardown: (fn: () => unknown) => void }): Promise<BrowserContext> {
  if (!existsSync(executablePath)) {
    throw new Error(`${executablePath} is missing: this test drives a real Chromium. ` +
      'Install it with `sudo apt-get install -y chromium` (Debian/Ubuntu); .ci/run does this in CI.')
  }
  // Playwright refuses --user-data-dir in args: a persistent context takes the profile directory instead.
  const profile = await mkdtemp(path.join(tmpdir(), 'spinta-chromium-'))
  const browser = await chromium.launchPersistentContext(profile, { executablePath, headless: true, args: quietFlags })
  t.teardown(async () => {
    await browser.close()
    await rm(profile, { recursive: true, force: true })
  })
  return browser
}
