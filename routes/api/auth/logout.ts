import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { bodyRefusals, databaseRefusals, errorResponses } from '../../../src/http/error-responses.js'

const LogoutRequest = Type.Object({
  refresh_token: Type.String({ minLength: 1, maxLength: 256, description: 'A refresh token of the sign-in to end' })
}, {
  additionalProperties: false,
  examples: [{ refresh_token: 'q2Xh0Zb4m1Vw8dE7sKpL3nRtY6uJcA9fG5oH2iN0vBk' }]
})

const logout: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post('/logout', {
    schema: {
      operationId: 'logout',
      tags: ['Auth'],
      summary: 'Sign out: end a sign-in',
      description: 'Ends the sign-in the refresh token belongs to: none of its refresh tokens works any more. ' +
        'Access tokens already issued stay valid until they expire (ACCESS_TOKEN_EXPIRE_MINUTES); discard them. ' +
        'An unknown, expired or already ended token gets the same 204, so the answer tells nothing about the token.',
      security: [],
      body: LogoutRequest,
      response: {
        204: Type.Null({ description: 'The sign-in is ended, or there was none' }),
        ...errorResponses('/api/auth/logout', {
          400: { description: 'The body is invalid: `errors` lists each problem', detail: 'The request body is invalid: /body must have required property \'refresh_token\'' },
          ...bodyRefusals,
          ...databaseRefusals
        })
      }
    }
  }, async (request, reply) => {
    await fastify.sessions.end(request.body.refresh_token)
    return reply.code(204).send(null)
  })
}

export default logout
