import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { SessionSchema } from '../../../../src/accounts/session.js'
import { databaseRefusals, errorResponses, malformedRequest } from '../../../../src/http/error-responses.js'
import { httpError } from '../../../../src/http/http-error.js'

const security = [{ OAuth2PasswordBearer: [] }, { HTTPBearer: [] }] as Array<Record<string, string[]>>
const unauthenticated = {
  401: { description: 'No bearer token, or one that is malformed, expired, forged, or whose sign-in has ended', detail: 'Could not validate credentials' },
  403: { description: 'The account is deactivated', detail: 'This account is deactivated' }
}

const sessions: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/sessions', {
    onRequest: fastify.authenticate,
    schema: {
      operationId: 'listSessions',
      tags: ['Users'],
      summary: 'The signed-in user\'s sign-ins',
      description: 'Every live sign-in of the user, newest first, with where it came from and which one this request belongs to (`current`). ' +
        'A user holds at most SESSIONS_PER_USER sign-ins: signing in again ends the oldest beyond that.',
      security,
      response: {
        200: Type.Array(SessionSchema, { description: 'The user\'s sign-ins, newest first', examples: [SessionSchema.examples] }),
        ...errorResponses('/api/users/me/sessions', { ...malformedRequest, ...unauthenticated, ...databaseRefusals })
      }
    }
  }, async (request) => {
    const list = await fastify.sessions.list(request.user.id)
    return list.map((session) => ({ ...session, current: session.id === request.sessionId }))
  })

  fastify.delete('/sessions/:session_id', {
    onRequest: fastify.authenticate,
    schema: {
      operationId: 'endSession',
      tags: ['Users'],
      summary: 'End one of the signed-in user\'s sign-ins',
      description: 'Ends the sign-in: its refresh tokens and its access tokens stop working at once. ' +
        'Ending the current one (this request\'s) is allowed, and signs this client out.',
      security,
      params: Type.Object({ session_id: Type.String({ format: 'uuid', description: 'A sign-in\'s `id` from `GET /api/users/me/sessions`' }) }),
      response: {
        204: Type.Null({ description: 'The sign-in is ended' }),
        ...errorResponses('/api/users/me/sessions/9d2c6a51-8f0b-4f5e-9a43-1c2b3d4e5f60', {
          400: { description: 'The session id is not a UUID', detail: 'The request path parameters are invalid: /params/session_id must match format "uuid"' },
          ...unauthenticated,
          404: { description: 'The user has no live sign-in with this id', detail: 'No sign-in of yours has this id' },
          ...databaseRefusals
        })
      }
    }
  }, async (request, reply) => {
    if (!(await fastify.sessions.endOne(request.user.id, request.params.session_id))) throw httpError(404, 'No sign-in of yours has this id')
    return reply.code(204).send(null)
  })
}

export default sessions
