import t from 'tap'
import { findChromium } from '../browser/chromium.js'

t.test('the browser tests use the browser CHROME_PATH names, and refuse one that does not exist', async (t) => {
  t.equal(findChromium({ CHROME_PATH: process.execPath }), process.execPath)
  t.throws(() => findChromium({ CHROME_PATH: '/nonexistent/chrome' }), { message: 'CHROME_PATH is /nonexistent/chrome, which does not exist' })
})
