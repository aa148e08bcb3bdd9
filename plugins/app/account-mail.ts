import fp from 'fastify-plugin'
import { accountMail, type AccountMail } from '../../src/accounts/account-mail.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Verification, password reset and notification mails, with their tokens. */
    accountMail: AccountMail
  }
}

export default fp(async function accountMailPlugin (fastify) {
  const { config } = fastify
  fastify.decorate('accountMail', accountMail({
    tokens: fastify.emailTokens,
    mail: fastify.mail,
    appUrl: config.APP_URL,
    verifyEmailHours: config.VERIFY_EMAIL_TOKEN_EXPIRE_HOURS,
    passwordResetMinutes: config.PASSWORD_RESET_TOKEN_EXPIRE_MINUTES
  }))
}, { name: 'account-mail', dependencies: ['config', 'email-tokens', 'mail'] })
