import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { UserSchema } from '../../../src/accounts/user.js'
import { bodyRefusals, databaseRefusals, errorResponses, malformedRequest } from '../../../src/http/error-responses.js'
import { httpError } from '../../../src/http/http-error.js'
import { teamsLeftWithoutCoach } from '../../../src/teams/account-deletion.js'

const AccountDeletion = Type.Object({
  password: Type.String({ minLength: 1, maxLength: 1024, description: 'The current password' })
}, {
  additionalProperties: false,
  examples: [{ password: 'correct horse battery staple' }]
})

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

  const attemptsPerUser = fastify.currentPasswordAttempts
  fastify.delete('/me', {
    onRequest: fastify.authenticate,
    preHandler: [attemptsPerUser.refuseIfSpent, fastify.limitPasswordChecks, attemptsPerUser.count],
    schema: {
      operationId: 'deleteCurrentUser',
      tags: ['Users'],
      summary: 'Delete the signed-in user\'s account',
      description: 'With the current password, deletes the account and everything that belongs only to it (sign-ins, refresh tokens, mailed tokens, mail not yet sent, its team memberships, the teams it is the only member of with their players, and the counts of its sign-in limits and of the clients known to it) in one transaction. ' +
        'The last coach of a team that has other members gets 409 until another member is coach or the team is deleted. ' +
        'Every token of the account stops working at once. The address then gets a last mail saying the account was deleted. A wrong password gets 403. ' +
        'Each client IP may try the current password LOGIN_ATTEMPTS_PER_MINUTE times per minute for one account (password changes and account deletions together), within its PASSWORD_CHECKS_PER_MINUTE (429 with `Retry-After` beyond either).',
      security: [{ OAuth2PasswordBearer: [] }, { HTTPBearer: [] }],
      body: AccountDeletion,
      response: {
        204: Type.Null({ description: 'The account and its data are deleted' }),
        ...errorResponses('/api/users/me', {
          400: { description: 'The body is invalid: `errors` lists each problem', detail: 'The request body is invalid: /body must have required property \'password\'' },
          401: { description: 'No bearer token, or one that is malformed, expired, forged or names no account', detail: 'Could not validate credentials' },
          403: { description: 'The password is wrong, or the account is deactivated', detail: 'The password is incorrect' },
          409: { description: 'The user is the last coach of a team that has other members', detail: 'You are the last coach of U12 Falcons: make another member coach, or delete the team, first' },
          ...bodyRefusals,
          429: { description: 'Too many attempts for this account, or password checks in all, from this client IP', detail: 'Too many attempts at the current password of this account from this address; retry in 42 s' },
          ...databaseRefusals
        })
      }
    }
  }, async (request, reply) => {
    const coachless = await teamsLeftWithoutCoach(fastify.databaseAvailability.query, request.user.id)
    if (coachless.length > 0) throw httpError(409, `You are the last coach of ${coachless.join(', ')}: make another member coach, or delete the team, first`)
    const deleted = await fastify.users.delete(request.user.id, request.body.password)
    if (deleted === null) throw httpError(403, 'The password is incorrect')
    request.log.info({ userId: deleted.id }, 'account deleted at its owner\'s request')
    await fastify.accountMail.accountDeleted(deleted)
    return reply.code(204).send(null)
  })
}

export default me
