import { mkdir } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import t from 'tap'
import type { Request } from 'playwright-core'
import { buildApp, startTestDatabase, testEnv } from '../helper.js'
import { launchChromium } from './chromium.js'
import { projectRoot } from '../../src/project.js'

const screenshots = path.join(projectRoot, '.artifacts', 'browser')
// ReDoc's footer shows a logo from its CDN; the docs policy refuses it and the page renders without it.
const redocLogo = 'https://cdn.redoc.ly/redoc/logo-mini.svg'

interface Violation { blockedURI: string, directive: string }

const database = await startTestDatabase(t)
const app = await buildApp(t, testEnv(database))
await app.listen({ host: '127.0.0.1', port: 0 })
const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`

const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json()
const operations = Object.entries(document.paths as Record<string, Record<string, { operationId: string, summary: string, tags: string[] }>>)
  .flatMap(([route, item]) => Object.entries(item).map(([method, operation]) => ({ method: method.toUpperCase(), route, ...operation })))

const browser = await launchChromium(t)
await mkdir(screenshots, { recursive: true })

// Every request the pages make; those that reached the network layer for another host are aborted there.
const requests: Request[] = []
const leftTheMachine: string[] = []
browser.on('request', (request) => { requests.push(request) })
await browser.route((url) => url.hostname !== '127.0.0.1', async (route) => {
  leftTheMachine.push(route.request().url())
  await route.abort('blockedbyclient')
})
// Each page keeps the browser's own reports of what its policy refused (a string: it runs in the page).
await browser.addInitScript({
  content: `window.cspViolations = []
  document.addEventListener('securitypolicyviolation', (event) => window.cspViolations.push({
    blockedURI: event.blockedURI, directive: event.effectiveDirective }))`
})

const page = browser.pages()[0] ?? await browser.newPage()
const violations = async (): Promise<Violation[]> => page.evaluate('window.cspViolations')
const pageErrors: string[] = []
page.on('pageerror', (error) => { pageErrors.push(error.message) })

t.beforeEach(() => {
  requests.length = 0
  leftTheMachine.length = 0
  pageErrors.length = 0
})

t.test('/docs lists every operation and "Try it out" on GET /api/health shows 200', async (t) => {
  await page.goto(`${origin}/docs`)
  await page.locator('.opblock').first().waitFor()
  const shown = await page.locator('.opblock').evaluateAll((blocks) => blocks.map((block) =>
    `${block.id} ${block.querySelector('.opblock-summary-method')?.textContent} ${block.querySelector('.opblock-summary-path')?.getAttribute('data-path')}`))
  const expected = operations.flatMap(({ method, route, operationId, tags }) => tags.map((tag) => `operations-${tag}-${operationId} ${method} ${route}`))
  t.same(shown.toSorted(), expected.toSorted(), `the ${expected.length} operations of the document, each under its tag`)

  const health = page.locator('#operations-Health-getHealth')
  await health.locator('.opblock-summary').click()
  await health.getByRole('button', { name: 'Try it out' }).click()
  await health.getByRole('button', { name: 'Execute' }).click()
  const answer = health.locator('.live-responses-table .response')
  await answer.waitFor()
  t.equal((await answer.locator('.response-col_status').textContent())?.trim(), '200', 'the response section shows 200')
  t.match(await answer.locator('.response-col_description pre').first().textContent(), /"database": "connected"/, 'and the body')
  t.ok(requests.some((request) => request.url() === `${origin}/api/health`), 'the request went to this server')
  await page.screenshot({ path: path.join(screenshots, 'docs.png'), fullPage: true })

  t.same(await violations(), [], 'no Content-Security-Policy violation')
  t.same(pageErrors, [], 'no script error')
  t.same(requests.map((request) => request.url()).filter((url) => !url.startsWith(`${origin}/`)), [], 'every request went to this server')
  t.same(leftTheMachine, [], 'nothing reached the network for another host')
})

t.test('/redoc renders every operation, its search works, and its CDN logo never loads', async (t) => {
  const logoRefused = browser.waitForEvent('requestfailed', { predicate: (request) => request.url() === redocLogo })
  await page.goto(`${origin}/redoc`)
  const sections = page.locator('[data-section-id^="tag/"][data-section-id*="/operation/"]')
  await sections.first().waitFor()
  const shown = await sections.evaluateAll((elements) => elements.map((element) =>
    `${element.getAttribute('data-section-id')} ${element.querySelector('h2')?.textContent?.trim()}`))
  const expected = operations.flatMap(({ operationId, summary, tags }) => tags.map((tag) => `tag/${tag}/operation/${operationId} ${summary}`))
  t.same(shown.toSorted(), expected.toSorted(), `the ${expected.length} operations of the document, each with its summary`)

  // Search runs in a blob: worker: without worker-src blob: the results list stays empty.
  await page.getByRole('textbox', { name: 'Search' }).fill('health')
  await page.locator('[data-role="search:results"] [data-item-id="tag/Health/operation/getHealth"]').waitFor()
  t.pass('searching for "health" finds GET /api/health')
  await page.screenshot({ path: path.join(screenshots, 'redoc.png'), fullPage: true })

  await logoRefused
  await page.waitForFunction(`window.cspViolations.some((violation) => violation.blockedURI === ${JSON.stringify(redocLogo)})`)
  t.same(await violations(), [{ blockedURI: redocLogo, directive: 'img-src' }], 'the only violation is the refused logo')
  t.same(pageErrors, [], 'no script error')
  const external = requests.filter((request) => !request.url().startsWith(`${origin}/`))
  t.same(external.map((request) => request.url()), [redocLogo], 'the logo is the only request for another host')
  t.equal(external[0]?.failure()?.errorText, 'csp', 'Chromium refused it before it was sent')
  t.same(leftTheMachine, [], 'nothing reached the network for another host')
})
