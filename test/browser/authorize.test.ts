import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { chromium } from 'playwright-core'
import { buildApp, startTestDatabase, testEnv } from '../helper.js'

// Debian's Chromium, driven by playwright-core, as in docs.test.ts.
const executablePath = '/usr/bin/chromium'
if (!existsSync(executablePath)) {
  throw new Error(`${executablePath} is missing: this test drives a real Chromium. ` +
    'Install it with `sudo apt-get install -y chromium` (Debian/Ubuntu); .ci/run does this in CI.')
}

const account = { email: 'ana.coach@example.com', password: 'correct horse battery', full_name: 'Ana Coach' }

const database = await startTestDatabase(t)
const app = await buildApp(t, testEnv(database))
await app.listen({ host: '127.0.0.1', port: 0 })
const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
await app.inject({ method: 'POST', url: '/api/auth/register', payload: account })

const profile = await mkdtemp(path.join(tmpdir(), 'spinta-chromium-'))
const browser = await chromium.launchPersistentContext(profile, {
  executablePath,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
})
t.teardown(async () => {
  await browser.close()
  await rm(profile, { recursive: true, force: true })
})

async function openAuthorizeDialog () {
  const page = await browser.newPage()
  await page.goto(`${origin}/docs`)
  await page.locator('.scheme-container button.authorize').click()
  const oauth2 = page.locator('.auth-container').filter({ hasText: 'OAuth2PasswordBearer' })
  return { page, oauth2 }
}

t.test('Swagger UI: Authorize with email and password, then "Try it out" on GET /api/users/me', async (t) => {
  const { page, oauth2 } = await openAuthorizeDialog()
  t.teardown(() => page.close())
  const tokenRequest = page.waitForRequest(`${origin}/api/auth/token`)
  await oauth2.locator('#oauth_username').fill(account.email)
  await oauth2.locator('#oauth_password').fill(account.password)
  await oauth2.locator('button.authorize').click()
  t.equal((await tokenRequest).headers()['content-type'], 'application/x-www-form-urlencoded', 'the token endpoint gets a form')
  await oauth2.getByRole('button', { name: 'Remove authorization' }).waitFor()
  await page.locator('.modal-ux .btn-done').first().click()

  const operation = page.locator('#operations-Users-getCurrentUser')
  await operation.locator('.opblock-summary').click()
  await operation.locator('.try-out__btn').click()
  const meRequest = page.waitForRequest(`${origin}/api/users/me`)
  await operation.locator('.execute').click()
  t.match((await meRequest).headers().authorization, /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/, 'the call carries the token')
  const status = operation.locator('.live-responses-table .response .response-col_status').first()
  await status.waitFor()
  t.equal((await status.innerText()).trim(), '200')
  t.match(await operation.locator('.live-responses-table .response-col_description .microlight').first().innerText(), account.email)
})

t.test('Swagger UI: a wrong password leaves the dialog unauthorized and says why', async (t) => {
  const { page, oauth2 } = await openAuthorizeDialog()
  t.teardown(() => page.close())
  await oauth2.locator('#oauth_username').fill(account.email)
  await oauth2.locator('#oauth_password').fill('not the password')
  await oauth2.locator('button.authorize').click()
  await oauth2.locator('.errors').waitFor()
  t.match(await oauth2.locator('.errors').innerText(), /Unauthorized/)
  t.equal(await oauth2.getByRole('button', { name: 'Remove authorization' }).count(), 0)
})
