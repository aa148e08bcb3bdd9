import type { AddressInfo } from 'node:net'
import t from 'tap'
import { buildApp, startTestDatabase, testEnv } from '../helper.js'
import { newAccount, register } from '../accounts.js'
import { launchChromium } from './chromium.js'

const account = newAccount('ana')

const database = await startTestDatabase(t)
const app = await buildApp(t, testEnv(database))
await app.listen({ host: '127.0.0.1', port: 0 })
const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
await register(app, account)

const browser = await launchChromium(t)

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
