import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { bodyRefusals, databaseRefusals, errorResponses, malformedRequest } from '../../../src/http/error-responses.js'
import { httpError } from '../../../src/http/http-error.js'
import { MailAcceptedSchema, MailedToken } from '../../../src/accounts/requests.js'

const VerifyEmailRequest = Type.Object({ token: MailedToken }, {
  additionalProperties: false,
  examples: [{ token: 'Xo3v1rZk8m2Qp5sT7uW9yA1cE3gI5kM7oQ9sU1wY3a0' }]
})

const resent = { detail: 'A new verification link is on its way to your address; earlier links no longer work' }

const verifyEmail: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post('/verify-email', {
    preHandler: fastify.limitMailRequests,
    schema: {
      operationId: 'verifyEmail',
      tags: ['Auth'],
      summary: 'Verify an email address with the token from its mail',
      description: 'Marks the address of the account the token was mailed to as verified (`email_verified` becomes true). ' +
        'A token works once and for VERIFY_EMAIL_TOKEN_EXPIRE_HOURS (24); a newer verification mail, and a password change, void it. ' +
        'No sign-in is needed: the token is the proof. Each client IP may present MAIL_REQUESTS_PER_MINUTE tokens and mail requests per minute (429 beyond).',
      security: [],
      body: VerifyEmailRequest,
      response: {
        204: Type.Null({ description: 'The address is verified' }),
        ...errorResponses('/api/auth/verify-email', {
          400: { description: 'The token is unknown, expired, already used or replaced, or the body is invalid', detail: 'This verification link is invalid, expired or already used: ask for a new one' },
          ...bodyRefusals,
          429: { description: 'Too many tokens and mail requests from this client IP', detail: 'Too many account mail requests from this address; retry in 42 s' },
          ...databaseRefusals
        })
      }
    }
  }, async (request, reply) => {
    if (!(await fastify.emailTokens.verifyEmail(request.body.token))) {
      throw httpError(400, 'This verification link is invalid, expired or already used: ask for a new one')
    }
    return reply.code(204).send(null)
  })

  fastify.post('/verify-email/resend', {
    onRequest: fastify.authenticate,
    preHandler: [fastify.limitMailRequests, fastify.limitMailsPerAddress],
    schema: {
      operationId: 'resendVerificationEmail',
      tags: ['Auth'],
      summary: 'Mail a new verification link to the signed-in user',
      description: 'Sends the signed-in user a new verification link; earlier ones stop working. ' +
        'An address already verified gets 409. The address gets at most MAILS_PER_ADDRESS_PER_HOUR mails, and each client IP may ask MAIL_REQUESTS_PER_MINUTE times per minute (429 beyond).',
      security: [{ OAuth2PasswordBearer: [] }, { HTTPBearer: [] }],
      response: {
        202: { ...MailAcceptedSchema, examples: [resent] },
        ...errorResponses('/api/auth/verify-email/resend', {
          ...malformedRequest,
          401: { description: 'No bearer token, or one that is malformed, expired, forged or names no account', detail: 'Could not validate credentials' },
          403: { description: 'The account is deactivated', detail: 'This account is deactivated' },
          409: { description: 'The address is verified already', detail: 'This email address is verified already' },
          429: { description: 'Too many mails to this address, or mail requests from this client IP', detail: 'Too many mails asked for this email address; retry in 42 s' },
          ...databaseRefusals
        })
      }
    }
  }, async (request, reply) => {
    if (request.user.email_verified) throw httpError(409, 'This email address is verified already')
    await fastify.accountMail.verification(request.user)
    return reply.code(202).send(resent)
  })
}

export default verifyEmail
