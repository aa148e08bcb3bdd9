import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { httpError } from '../../../src/http-error.js'
import { UserSchema } from '../../../src/user-schema.js'

const Registration = Type.Object({
  email: Type.String({ format: 'email', maxLength: 254 }),
  password: Type.String({ minLength: 8, maxLength: 128, description: '8 to 128 characters' }),
  // Not blank, and no NUL character (PostgreSQL text cannot hold one). Each part is checked once, in
  // linear time: Ajv runs the pattern even on a value maxLength has refused, up to the body limit.
  full_name: Type.String({ minLength: 1, maxLength: 200, pattern: '^(?=[^\\u0000]*$)\\s*\\S' })
}, {
  examples: [{ email: 'ana.coach@example.com', password: 'correct horse battery', full_name: 'Ana Coach' }]
})

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
      body: Registration,
      response: { 201: UserSchema }
    }
  }, async (request, reply) => {
    const user = await fastify.users.create(request.body)
    if (user === null) throw httpError(409, 'An account with this email already exists')
    return reply.code(201).send(user)
  })
}

export default register
