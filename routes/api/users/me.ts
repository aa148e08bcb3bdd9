import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { UserSchema } from '../../../src/accounts/user.js'

const me: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/me', {
    onRequest: fastify.authenticate,
    schema: {
      operationId: 'getCurrentUser',
      tags: ['Users'],
      summary: 'The signed-in user',
      description: 'The account the bearer token belongs to. A missing, expired or forged token, or one signed ' +
        'with another algorithm, gets 401 with `WWW-Authenticate: Bearer`; a deactivated account gets 403.',
      security: [{ OAuth2PasswordBearer: [] }, { HTTPBearer: [] }],
      response: { 200: UserSchema }
    }
  }, async (request) => request.user)
}

export default me
