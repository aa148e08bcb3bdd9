import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { httpError } from '../../../../src/http/http-error.js'
import { NewUserSchema } from '../../../../src/accounts/user.js'
import { assertAcceptablePassword } from '../../../../src/accounts/password-policy.js'
import { bodyRefusals, databaseRefusals, errorResponses } from '../../../../src/http/error-responses.js'

const PasswordChange = Type.Object({
  current_password: Type.String({ minLength: 1, maxLength: 1024 }),
  new_password: NewUserSchema.properties.password
}, {
  additionalProperties: false,
  examples: [{ current_password: 'correct horse battery staple', new_password: 'battery staple horse correct' }]
})

const password: FastifyPluginAsyncTypebox = async (fastify) => {
  const attemptsPerUser = fastify.currentPasswordAttempts

  fastify.post('/password', {
    onRequest: fastify.authenticate,
    preHandler: [attemptsPerUser.refuseIfSpent, fastify.limitPasswordChecks, attemptsPerUser.count],
    schema: {
      operationId: 'changePassword',
      tags: ['Users'],
      summary: 'Change the password',
      description: 'Sets `new_password` if `current_password` is right, and signs the user out everywhere: ' +
        'every refresh token and every access token of the user stops working at once — this one included — and mailed links issued before stop working. ' +
        '`new_password` follows the rules of registration: 15 to 128 characters, not a common or breached password, not containing the name part of the email (400 saying which). ' +
        'Sign in again with the new password; the user is told of the change by mail. A wrong `current_password` gets 403. ' +
        'Each client IP may try the current password LOGIN_ATTEMPTS_PER_MINUTE times per minute for one account (password changes and account deletions together), within its PASSWORD_CHECKS_PER_MINUTE (429 with `Retry-After` beyond either).',
      security: [{ OAuth2PasswordBearer: [] }, { HTTPBearer: [] }],
      body: PasswordChange,
      response: {
        204: Type.Null({ description: 'The password is changed and every sign-in of the user is ended' }),
        ...errorResponses('/api/users/me/password', {
          400: { description: 'The body is invalid: `errors` lists each problem', detail: 'The request body is invalid: /body/new_password is on a list of common or breached passwords, which attackers try first: choose another one' },
          401: { description: 'No bearer token, or one that is malformed, expired, forged, names no account or was issued before the last password change', detail: 'Could not validate credentials' },
          403: { description: 'The current password is wrong, or the account is deactivated', detail: 'The current password is incorrect' },
          ...bodyRefusals,
          429: { description: 'Too many attempts for this account, or password checks in all, from this client IP', detail: 'Too many attempts at the current password of this account from this address; retry in 42 s' },
          ...databaseRefusals
        })
      }
    }
  }, async (request, reply) => {
    await assertAcceptablePassword(request.body.new_password, request.user.email, 'new_password')
    const changed = await fastify.users.changePassword(request.user.id, request.body.current_password, request.body.new_password)
    if (!changed) throw httpError(403, 'The current password is incorrect')
    await fastify.accountMail.passwordChanged(request.user)
    return reply.code(204).send(null)
  })
}

export default password
