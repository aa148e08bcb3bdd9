import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { httpError } from '../../../src/http/http-error.js'
import { NewUserSchema, UserSchema } from '../../../src/accounts/user.js'

const register: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post('/register', {
    preHandler: fastify.limitPasswordChecks,
    schema: {
      operationId: 'register',
      tags: ['Auth'],
      summary: 'Create an account',
      description: 'Creates an active account. The email must be new in any letter case (409 otherwise); ' +
        'the password needs at least 8 characters (400 otherwise). The response never contains the password or its hash. ' +
        'Registrations and sign-ins from one client IP share PASSWORD_CHECKS_PER_MINUTE (429 with `Retry-After` beyond that).',
      body: NewUserSchema,
      response: { 201: UserSchema }
    }
  }, async (request, reply) => {
    const user = await fastify.users.create(request.body)
    if (user === null) throw httpError(409, 'An account with this email already exists')
    return reply.code(201).send(user)
  })
}

export default register
