import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { bodyRefusals, databaseRefusals, errorResponses } from '../../../src/http/error-responses.js'
import { httpError } from '../../../src/http/http-error.js'
import { NewUserSchema, UserSchema } from '../../../src/accounts/user.js'
import { assertAcceptablePassword } from '../../../src/accounts/password-policy.js'

const register: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post('/register', {
    preHandler: fastify.limitPasswordChecks,
    schema: {
      operationId: 'register',
      tags: ['Auth'],
      summary: 'Create an account',
      description: 'Creates an active account. The email must be new in any letter case (409 otherwise); ' +
        'the password needs 15 to 128 characters, must not be a common or breached password nor contain the name part of the email (NIST SP 800-63B-4; 400 saying which, otherwise). The response never contains the password or its hash. ' +
        'Registrations and sign-ins from one client IP share PASSWORD_CHECKS_PER_MINUTE (429 with `Retry-After` beyond that).',
      security: [],
      body: NewUserSchema,
      response: {
        201: UserSchema,
        ...errorResponses('/api/auth/register', {
          400: { description: 'The body is not a valid registration: `errors` lists each problem', detail: 'The request body is invalid: /body/password must have at least 15 characters (it has 8): a few unrelated words make a long password that is easy to remember' },
          409: { description: 'An account with this email already exists, in any letter case', detail: 'An account with this email already exists' },
          ...bodyRefusals,
          429: { description: 'Too many sign-ins and registrations from this client IP', detail: 'Too many sign-ins and registrations from this address; retry in 42 s' },
          ...databaseRefusals
        })
      }
    }
  }, async (request, reply) => {
    await assertAcceptablePassword(request.body.password, request.body.email)
    const user = await fastify.users.create(request.body)
    if (user === null) throw httpError(409, 'An account with this email already exists')
    return reply.code(201).send(user)
  })
}

export default register
