import t from 'tap'
import { smtpOptions } from '../../src/mail/transport.js'
import { appLink, escapeHtml, passwordReset } from '../../src/mail/templates.js'

t.test('SMTP_URL: percent-encoded credentials are decoded; smtps:// is TLS from the start; ports default by scheme', async (t) => {
  t.match(smtpOptions('smtps://mailer%40example.com:p%40ss%3Aw%2Frd%23@smtp.example.com'), {
    host: 'smtp.example.com', port: 465, secure: true, auth: { user: 'mailer@example.com', pass: 'p@ss:w/rd#' }
  })
  const plain = smtpOptions('smtp://[::1]:2525')
  t.match(plain, { host: '::1', port: 2525, secure: false })
  t.notOk('auth' in plain, 'no credentials, no AUTH')
  t.equal(smtpOptions('smtp://smtp.example.com').port, 587)
})

t.test('links join APP_URL, its path included, with the token in the query; HTML is escaped', async (t) => {
  t.equal(appLink('https://app.example.com', 'reset-password', 'abc-_1'), 'https://app.example.com/reset-password?token=abc-_1')
  t.equal(appLink('https://example.com/spinta/', 'verify-email', 'x'), 'https://example.com/spinta/verify-email?token=x')
  t.equal(escapeHtml('<a href="x">&\'</a>'), '&#60;a href=&#34;x&#34;&#62;&#38;&#39;&#60;/a&#62;')
  const mail = passwordReset({ name: '<script>alert(1)</script>', appUrl: 'https://app.example.com', token: 'tok', minutes: 30 })
  t.notMatch(mail.html, '<script>')
  t.match(mail.text, '<script>', 'the plain text part is plain')
  t.match(mail.text, 'https://app.example.com/reset-password?token=tok')
  t.match(mail.text, '30 minutes')
})
