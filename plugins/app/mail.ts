import fp from 'fastify-plugin'
import { outbox, type Outbox } from '../../src/mail/outbox.js'
import { logTransport, smtpTransport } from '../../src/mail/transport.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Mail: `send` queues a message (see src/mail/templates.ts) and returns; delivery is in the background. */
    mail: Outbox
  }
}

/**
 * Mail over SMTP_URL from MAIL_FROM, through the outbox every instance delivers from. Without
 * SMTP_URL (refused in production) each mail is written to the log instead.
 */
export default fp(async function mail (fastify) {
  const { config, log, databaseAvailability } = fastify
  if (config.SMTP_URL === undefined) log.info('SMTP_URL is not set: mails are written to the log, not sent')
  const transport = config.SMTP_URL === undefined ? logTransport(log, config.MAIL_FROM) : await smtpTransport(config.SMTP_URL, config.MAIL_FROM)
  const mailOutbox = outbox({
    query: databaseAvailability.query,
    transport,
    log,
    retryMinMs: config.MAIL_RETRY_MIN_MS,
    retryMaxMs: config.MAIL_RETRY_MAX_MS,
    available: () => databaseAvailability.available
  })
  fastify.decorate('mail', mailOutbox)
  fastify.addHook('onReady', async () => mailOutbox.start())
  fastify.addHook('onClose', async () => mailOutbox.close())
}, { name: 'mail', dependencies: ['config', 'database', 'database-availability', 'migrations'] })
