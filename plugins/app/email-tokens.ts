import fp from 'fastify-plugin'
import { emailTokenStore, type EmailTokenStore } from '../../src/accounts/email-tokens.js'
import type { AppOptions } from '../../src/app.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Single-use tokens for links in mails: email verification and password reset. */
    emailTokens: EmailTokenStore
  }
}

export default fp<AppOptions>(async function emailTokens (fastify, opts) {
  fastify.decorate('emailTokens', emailTokenStore(fastify.databaseAvailability.query, { now: opts.now ?? (() => new Date()) }))
}, { name: 'email-tokens', dependencies: ['database', 'database-availability', 'migrations'] })
