import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { bodyRefusals, databaseRefusals, errorResponses } from '../../../src/http/error-responses.js'
import { httpError } from '../../../src/http/http-error.js'
import { NewUserSchema } from '../../../src/accounts/user.js'
import { assertAcceptablePassword } from '../../../src/accounts/password-policy.js'
import { EmailSchema, MailAcceptedSchema, MailedToken } from '../../../src/accounts/requests.js'

const ResetRequest = Type.Object({ email: EmailSchema }, {
  additionalProperties: false,
  examples: [{ email: 'ana.coach@example.com' }]
})

const ResetConfirmation = Type.Object({
  token: MailedToken,
  // Registration's own rule, by reference: a reset sets the same passwords registration accepts.
  new_password: NewUserSchema.properties.password
}, {
  additionalProperties: false,
  examples: [{ token: 'Xo3v1rZk8m2Qp5sT7uW9yA1cE3gI5kM7oQ9sU1wY3a0', new_password: 'battery staple horse correct' }]
})

const accepted = { detail: 'If this address has an account, a mail with a link to choose a new password is on its way to it' }

const passwordReset: FastifyPluginAsyncTypebox = async (fastify) => {
  const minutes = fastify.config.PASSWORD_RESET_TOKEN_EXPIRE_MINUTES

  fastify.post('/password-reset', {
    preHandler: [fastify.limitMailRequests, fastify.limitMailsPerAddress],
    schema: {
      operationId: 'requestPasswordReset',
      tags: ['Auth'],
      summary: 'Mail a password reset link',
      description: 'Always 202 with the same body: the answer is sent before the address is looked up, so neither it nor its timing tells whether the address has an account. ' +
        `An address that has one gets a mail with a link to APP_URL/reset-password?token=...; the token works once, for PASSWORD_RESET_TOKEN_EXPIRE_MINUTES (${minutes}), and a newer reset mail voids it. ` +
        'The address gets at most MAILS_PER_ADDRESS_PER_HOUR mails, whatever the client, and each client IP may ask MAIL_REQUESTS_PER_MINUTE times per minute (429 beyond either, for any address alike).',
      security: [],
      body: ResetRequest,
      response: {
        202: { ...MailAcceptedSchema, examples: [accepted] },
        ...errorResponses('/api/auth/password-reset', {
          400: { description: 'The body is invalid: `errors` lists each problem', detail: 'The request body is invalid: /body/email must match format "email"' },
          ...bodyRefusals,
          429: { description: 'Too many mails to this address, or mail requests from this client IP', detail: 'Too many mails asked for this email address; retry in 42 s' },
          ...databaseRefusals
        })
      }
    }
  }, async (request, reply) => {
    await reply.code(202).send(accepted)
    // After the answer, so an unknown address is answered exactly like a known one; a failure is only logged.
    try {
      const user = await fastify.users.findByEmail(request.body.email)
      if (user !== null) await fastify.accountMail.passwordReset(user)
    } catch (error) {
      request.log.error({ err: error }, 'a password reset mail could not be queued')
    }
    return reply
  })

  fastify.post('/password-reset/confirm', {
    preHandler: [fastify.limitMailRequests, fastify.limitPasswordChecks],
    schema: {
      operationId: 'confirmPasswordReset',
      tags: ['Auth'],
      summary: 'Set a new password with the token from a reset mail',
      description: 'Sets `new_password` for the account the token was mailed to, and ends every sign-in of it: ' +
        'every refresh token and every access token of the account stops working at once. ' +
        '`new_password` follows the rules of registration: 15 to 128 characters, not a common or breached password, not containing the name part of the email (400 saying which; the link then still works). ' +
        'The token works once; a password change voids it too. ' +
        'Following the link proves the address, so it becomes verified. The user is told of the change by mail. ' +
        'Each client IP may present MAIL_REQUESTS_PER_MINUTE tokens per minute, within its PASSWORD_CHECKS_PER_MINUTE (429 beyond either).',
      security: [],
      body: ResetConfirmation,
      response: {
        204: Type.Null({ description: 'The password is set and every sign-in of the account is ended' }),
        ...errorResponses('/api/auth/password-reset/confirm', {
          400: { description: 'The token is unknown, expired, already used or replaced, the new password breaks the rules, or the body is invalid (`errors` lists each problem)', detail: 'This password reset link is invalid, expired or already used: ask for a new one' },
          ...bodyRefusals,
          429: { description: 'Too many tokens or password checks from this client IP', detail: 'Too many account mail requests from this address; retry in 42 s' },
          ...databaseRefusals
        })
      }
    }
  }, async (request, reply) => {
    const invalid = () => httpError(400, 'This password reset link is invalid, expired or already used: ask for a new one')
    const { token, new_password: newPassword } = request.body
    // The password is checked against the account before the token is spent, so a refused password
    // leaves the link working for another try.
    const holder = await fastify.emailTokens.holder(token, 'password-reset')
    const user = holder === null ? null : await fastify.users.findById(holder)
    if (user === null) throw invalid()
    await assertAcceptablePassword(newPassword, user.email, 'new_password')
    if ((await fastify.emailTokens.consume(token, 'password-reset')) !== user.id) throw invalid()
    if (!(await fastify.users.resetPassword(user.id, newPassword))) throw invalid()
    await fastify.accountMail.passwordChanged(user)
    return reply.code(204).send(null)
  })
}

export default passwordReset
