import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { bodyRefusals, databaseRefusals, errorResponses } from '../../../src/http/error-responses.js'
import { NewUserSchema } from '../../../src/accounts/user.js'
import { assertAcceptablePassword } from '../../../src/accounts/password-policy.js'
import { MailAcceptedSchema } from '../../../src/accounts/requests.js'

const accepted = { detail: 'Check your inbox: the mail sent to this address says what to do next' }

const register: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post('/register', {
    preHandler: [fastify.limitMailRequests, fastify.limitMailsPerAddress, fastify.limitPasswordChecks],
    schema: {
      operationId: 'register',
      tags: ['Auth'],
      summary: 'Create an account',
      description: 'Answers 202 with the same body, in about the same time, whether or not the email has an account ' +
        '(compared in its one normal form, as sign-in does), so the answer tells nobody which addresses do. A new address gets an active account, which can sign in at once, and a mail with a link to verify the address ' +
        '(POST /api/auth/verify-email). An address that has an account gets a mail telling its owner that someone tried to register with it; ' +
        'the account is not changed, and only its own password signs in. ' +
        'The password needs 15 to 128 characters, must not be a common or breached password nor contain the name part of the email (NIST SP 800-63B-4; 400 saying which, for known and new addresses alike). ' +
        'The response never contains the password or its hash. ' +
        'Each client IP may register PASSWORD_CHECKS_PER_MINUTE times per minute (shared with sign-ins) and ask for MAIL_REQUESTS_PER_MINUTE mails; ' +
        'each address gets at most MAILS_PER_ADDRESS_PER_HOUR mails (429 with `Retry-After` beyond any of them).',
      security: [],
      body: NewUserSchema,
      response: {
        202: { ...MailAcceptedSchema, examples: [accepted] },
        ...errorResponses('/api/auth/register', {
          400: { description: 'The body is not a valid registration: `errors` lists each problem', detail: 'The request body is invalid: /body/password must have at least 15 characters (it has 8): a few unrelated words make a long password that is easy to remember' },
          ...bodyRefusals,
          429: { description: 'Too many registrations from this client IP, or mails to this address', detail: 'Too many sign-ins and registrations from this address; retry in 42 s' },
          ...databaseRefusals
        })
      }
    }
  }, async (request, reply) => {
    // The password rules depend on the body alone, so they answer known and new addresses alike.
    await assertAcceptablePassword(request.body.password, request.body.email)
    // Both ways hash the password and run three statements, so neither is noticeably quicker.
    const user = await fastify.users.create(request.body)
    if (user !== null) {
      await fastify.accountMail.verification(user)
    } else {
      const owner = await fastify.users.findByEmail(request.body.email)
      if (owner !== null) await fastify.accountMail.registrationAttempt(owner)
    }
    return reply.code(202).send(accepted)
  })
}

export default register
