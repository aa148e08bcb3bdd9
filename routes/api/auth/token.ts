import formbody from '@fastify/formbody'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { bodyRefusals, errorResponses, loadShedding } from '../../../src/http/error-responses.js'
import { httpError } from '../../../src/http/http-error.js'

const TokenRequest = Type.Object({
  grant_type: Type.Optional(Type.Literal('password')),
  username: Type.String({ minLength: 1, maxLength: 254, pattern: '^[^\\u0000]*$', description: 'The account email' }),
  password: Type.String({ minLength: 1, maxLength: 128 }),
  scope: Type.Optional(Type.String({ maxLength: 1024, description: 'Ignored: tokens carry no scopes' }))
}, {
  // RFC 6749 §3.2: a token endpoint ignores parameters it does not know (client_id, say), so the
  // form stays open; its size is bounded, and each parameter may appear once, as that section requires.
  additionalProperties: Type.String({ maxLength: 1024 }),
  maxProperties: 10,
  description: 'Parameters other than these are ignored (RFC 6749 §3.2); at most 10 parameters, each given once',
  examples: [{ grant_type: 'password', username: 'ana.coach@example.com', password: 'correct horse battery' }]
})

const TokenResponse = Type.Object({
  access_token: Type.String({ description: 'A JWT to send as `Authorization: Bearer <access_token>`' }),
  token_type: Type.Literal('bearer'),
  expires_in: Type.Integer({ description: 'Seconds until the token expires (ACCESS_TOKEN_EXPIRE_MINUTES)' })
}, {
  description: 'The access token and how long it lasts',
  examples: [{ access_token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0YjRmOGY0ZSJ9.c2lnbmF0dXJl', token_type: 'bearer', expires_in: 1800 }]
})

const token: FastifyPluginAsyncTypebox = async (fastify) => {
  // OAuth2 clients (Swagger UI's Authorize button among them) post the form encoding, to this route only.
  await fastify.register(formbody)

  const expiresIn = fastify.config.ACCESS_TOKEN_EXPIRE_MINUTES * 60
  // Counted after validation, so the count can name the account: guessing one account's password is
  // slowed, and other clients signing in to it are not.
  const attemptsPerAccount = fastify.perClientLimit({
    perMinute: fastify.config.LOGIN_ATTEMPTS_PER_MINUTE,
    per: (request) => (request.body as { username: string }).username.toLowerCase(),
    refusal: 'Too many sign-in attempts for this account from this address'
  })

  fastify.post('/token', {
    // The account's count is checked first and added to last, so attempts the address's budget
    // refuses do not count: cheap refused requests cannot push the counts of other accounts out of
    // the limit's memory. Attempts sent one at a time after the account's limit is reached do not
    // spend the budget either (concurrent ones may).
    preHandler: [attemptsPerAccount.refuseIfSpent, fastify.limitPasswordChecks, attemptsPerAccount.count],
    schema: {
      operationId: 'createAccessToken',
      tags: ['Auth'],
      summary: 'Sign in: get an access token',
      description: 'The OAuth2 password flow: a form-encoded `username` (the email) and `password` give a bearer token. ' +
        'Wrong credentials get 401 with `WWW-Authenticate: Bearer`, answered as slowly for an unknown email as for a wrong password. ' +
        'Each client IP may try LOGIN_ATTEMPTS_PER_MINUTE times per minute for one username, and PASSWORD_CHECKS_PER_MINUTE sign-ins and registrations in all (429 with `Retry-After` beyond either).',
      consumes: ['application/x-www-form-urlencoded'],
      security: [],
      body: TokenRequest,
      response: {
        200: TokenResponse,
        ...errorResponses('/api/auth/token', {
          400: { description: 'The form is invalid: `errors` lists each problem', detail: 'The request body is invalid: /body/password must have required property \'password\'' },
          401: { description: 'Wrong email or password', detail: 'Incorrect email or password' },
          403: { description: 'The account is deactivated', detail: 'This account is deactivated' },
          ...bodyRefusals,
          429: { description: 'Too many attempts for this username, or sign-ins and registrations in all, from this client IP', detail: 'Too many sign-in attempts for this account from this address; retry in 42 s' },
          ...loadShedding
        })
      }
    }
  }, async (request, reply) => {
    const user = await fastify.users.authenticate(request.body.username, request.body.password)
    if (user === null) {
      reply.header('www-authenticate', 'Bearer')
      throw httpError(401, 'Incorrect email or password')
    }
    if (!user.is_active) throw httpError(403, 'This account is deactivated')
    // RFC 6749 §5.1: responses carrying tokens must not be cached.
    reply.header('cache-control', 'no-store')
    return { access_token: await reply.jwtSign({ sub: user.id }), token_type: 'bearer' as const, expires_in: expiresIn }
  })
}

export default token
