import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { UserSchema } from '../../../src/accounts/user.js'
import { databaseRefusals, errorResponses, malformedRequest } from '../../../src/http/error-responses.js'

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
      response: {
        200: UserSchema,
        ...errorResponses('/api/users/me', {
          ...malformedRequest,
          401: { description: 'No bearer token, or one that is malformed, expired, forged or names no account', detail: 'Could not validate credentials' },
          403: { description: 'The account is deactivated', detail: 'This account is deactivated' },
          ...databaseRefusals
        })
      }
    }
  }, async (request) => request.user)
}

export default me
