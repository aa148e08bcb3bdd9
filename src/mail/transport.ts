import type { FastifyBaseLogger } from 'fastify'

/** A mail as it is queued and delivered: one recipient, a subject, and a plain-text and an HTML part. */
export interface Mail {
  to: string
  subject: string
  text: string
  html: string
}

/** Hands a mail to whatever delivers it; rejects when it was not taken. */
export interface MailTransport {
  deliver: (mail: Mail) => Promise<void>
  close: () => void
}

/** Bounds on each SMTP step, so a server that accepts connections and then stalls fails the attempt. */
const TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 }

/**
 * SMTP options from an smtp:// or smtps:// URL. The user name and password are percent-decoded
 * here, so any character works in them; nothing of the URL is ever logged.
 */
export function smtpOptions (smtpUrl: string) {
  const url = new URL(smtpUrl)
  const secure = url.protocol === 'smtps:'
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? (secure ? 465 : 587) : Number(url.port),
    secure,
    ...(url.username === '' && url.password === '' ? {} : { auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } }),
    ...TIMEOUTS
  }
}

/**
 * Delivers over SMTP, one connection per mail (mail is rare: a pool would hold idle connections).
 * nodemailer is loaded only here, so a server without SMTP_URL never pays for loading it.
 */
export async function smtpTransport (smtpUrl: string, from: string): Promise<MailTransport> {
  const { createTransport } = await import('nodemailer')
  const transporter = createTransport(smtpOptions(smtpUrl), { from })
  return {
    async deliver ({ to, subject, text, html }) {
      await transporter.sendMail({ to, subject, text, html })
    },
    close: () => transporter.close()
  }
}

/**
 * Without SMTP_URL outside production: each mail is one info line, its plain text (link included)
 * in it, so a developer can follow the link.
 */
export function logTransport (log: FastifyBaseLogger, from: string): MailTransport {
  return {
    async deliver ({ to, subject, text }) {
      log.info({ mail: { from, to, subject, text } }, 'mail written to the log, not sent: SMTP_URL is unset')
    },
    close: () => {}
  }
}
