import formbody from '@fastify/formbody'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import { bodyRefusals, databaseRefusals, errorResponses } from '../../../src/http/error-responses.js'
import { httpError } from '../../../src/http/http-error.js'

// The grant decides which fields are required: JSON Schema's if/then says so in one object, which
// keeps the form flat for Swagger UI. An unknown grant_type gets one error, not a missing field too.
const Username = Type.String({ minLength: 1, maxLength: 254, pattern: '^[^\\u0000]*$', description: 'The account email (password grant)' })
const Password = Type.String({ minLength: 1, maxLength: 128, description: 'Password grant' })
const RefreshToken = Type.String({ minLength: 1, maxLength: 256, description: 'A refresh token from an earlier response (refresh_token grant)' })

const GrantType = Type.Unsafe<'password' | 'refresh_token'>({
  type: 'string',
  enum: ['password', 'refresh_token'],
  description: '`password` (the default) signs in with `username` and `password`; `refresh_token` exchanges a `refresh_token`'
})

const TokenRequest = Type.Object({
  grant_type: Type.Optional(GrantType),
  username: Type.Optional(Username),
  password: Type.Optional(Password),
  refresh_token: Type.Optional(RefreshToken),
  scope: Type.Optional(Type.String({ maxLength: 1024, description: 'Ignored: tokens carry no scopes' }))
}, {
  // RFC 6749 §3.2: a token endpoint ignores parameters it does not know (client_id, say), so the
  // form stays open; its size is bounded, and each parameter may appear once, as that section requires.
  additionalProperties: Type.String({ maxLength: 1024 }),
  maxProperties: 10,
  description: 'Parameters other than these are ignored (RFC 6749 §3.2); at most 10 parameters, each given once',
  // Each grant's own fields; a subschema names the properties it requires, as linters expect.
  allOf: [
    { if: { properties: { grant_type: { const: 'password' } } }, then: { properties: { grant_type: GrantType, username: Username, password: Password }, required: ['username', 'password'] } },
    { if: { properties: { grant_type: { const: 'refresh_token' } }, required: ['grant_type'] }, then: { properties: { grant_type: GrantType, refresh_token: RefreshToken }, required: ['refresh_token'] } }
  ],
  examples: [
    { grant_type: 'password', username: 'ana.coach@example.com', password: 'correct horse battery' },
    { grant_type: 'refresh_token', refresh_token: 'q2Xh0Zb4m1Vw8dE7sKpL3nRtY6uJcA9fG5oH2iN0vBk' }
  ]
})

const TokenResponse = Type.Object({
  access_token: Type.String({ description: 'A JWT to send as `Authorization: Bearer <access_token>`' }),
  token_type: Type.Literal('bearer'),
  expires_in: Type.Integer({ description: 'Seconds until the token expires (ACCESS_TOKEN_EXPIRE_MINUTES)' }),
  refresh_token: Type.String({ description: 'Gets the next access token from this endpoint with `grant_type=refresh_token`. It works once: the answer carries its replacement' }),
  refresh_token_expires_in: Type.Integer({ description: 'Seconds until the refresh token expires if it is not used (REFRESH_TOKEN_EXPIRE_DAYS)' })
}, {
  description: 'The access token, the refresh token, and how long each lasts',
  examples: [{
    access_token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0YjRmOGY0ZSJ9.c2lnbmF0dXJl',
    token_type: 'bearer',
    expires_in: 1800,
    refresh_token: 'q2Xh0Zb4m1Vw8dE7sKpL3nRtY6uJcA9fG5oH2iN0vBk',
    refresh_token_expires_in: 2592000
  }]
})

/** RFC 6749 §5.2: the error body OAuth2 clients expect when a grant is refused. */
const OAuth2Error = Type.Object({
  error: Type.Literal('invalid_grant'),
  error_description: Type.String({ description: 'Why, for the developer' })
}, {
  title: 'OAuth2Error',
  description: 'An OAuth2 error (RFC 6749 §5.2)',
  examples: [{ error: 'invalid_grant', error_description: 'The refresh token is invalid, expired or revoked: sign in again' }]
})

const isRefresh = (request: FastifyRequest) => (request.body as { grant_type?: string }).grant_type === 'refresh_token'

const documented = errorResponses('/api/auth/token', {
  400: { description: 'The form is invalid: `errors` lists each problem', detail: 'The request body is invalid: /body/password must have required property \'password\'' },
  401: { description: 'Wrong email or password', detail: 'Incorrect email or password' },
  403: { description: 'The account is deactivated', detail: 'This account is deactivated' },
  ...bodyRefusals,
  429: { description: 'Too many attempts for this username, or sign-ins and registrations in all, from this client IP', detail: 'Too many sign-in attempts for this account from this address; retry in 42 s' },
  ...databaseRefusals
})

const token: FastifyPluginAsyncTypebox = async (fastify) => {
  // OAuth2 clients (Swagger UI's Authorize button among them) post the form encoding, to this route only.
  await fastify.register(formbody)

  const expiresIn = fastify.config.ACCESS_TOKEN_EXPIRE_MINUTES * 60
  const refreshExpiresIn = fastify.config.REFRESH_TOKEN_EXPIRE_DAYS * 24 * 60 * 60
  // Counted after validation, so the count can name the account: guessing one account's password is
  // slowed, and other clients signing in to it are not.
  const attemptsPerAccount = fastify.perClientLimit({
    name: 'sign-in',
    perMinute: fastify.config.LOGIN_ATTEMPTS_PER_MINUTE,
    per: (request) => (request.body as { username: string }).username.toLowerCase(),
    refusal: 'Too many sign-in attempts for this account from this address'
  })
  // A refresh names no account before its token is looked up, so only the address's budget counts it.
  const passwordGrantOnly = (hook: preHandlerAsyncHookHandler): preHandlerAsyncHookHandler =>
    async function (request, reply) { if (!isRefresh(request)) await hook.call(this, request, reply) }

  const tokens = async (reply: FastifyReply, userId: string, tokenVersion: number, refreshToken: string) => {
    // RFC 6749 §5.1: responses carrying tokens must not be cached.
    reply.header('cache-control', 'no-store')
    return {
      access_token: await reply.jwtSign({ sub: userId, ver: tokenVersion }),
      token_type: 'bearer' as const,
      expires_in: expiresIn,
      refresh_token: refreshToken,
      refresh_token_expires_in: refreshExpiresIn
    }
  }
  const invalidGrant = (reply: FastifyReply, description: string) =>
    reply.code(400).header('cache-control', 'no-store').send({ error: 'invalid_grant' as const, error_description: description })

  fastify.post('/token', {
    // The account's count is checked first and added to last, so attempts the address's budget
    // refuses do not count: cheap refused requests add no rows to the shared table. Attempts sent one at a time after the account's limit is reached do not
    // spend the budget either (concurrent ones may).
    preHandler: [passwordGrantOnly(attemptsPerAccount.refuseIfSpent), fastify.limitPasswordChecks, passwordGrantOnly(attemptsPerAccount.count)],
    schema: {
      operationId: 'createAccessToken',
      tags: ['Auth'],
      summary: 'Sign in or refresh: get an access token and a refresh token',
      description: 'OAuth2, form-encoded. `grant_type=password` (the default): `username` (the email) and `password` sign in. ' +
        '`grant_type=refresh_token`: a `refresh_token` from an earlier answer gets new tokens, without the password. ' +
        'Each refresh token works once; presenting one that was already used ends its whole sign-in, the newest refresh token included, and the user must sign in again. ' +
        'Send one refresh at a time: of two sent together with the same token, one succeeds and the other ends the sign-in. ' +
        'An invalid, expired, reused or signed-out refresh token, or one issued before a password change, gets 400 `invalid_grant` (OAuth2 error body). ' +
        'Wrong credentials get 401 with `WWW-Authenticate: Bearer`, answered as slowly for an unknown email as for a wrong password; a deactivated account gets 403. ' +
        'Each client IP may try LOGIN_ATTEMPTS_PER_MINUTE sign-ins per minute for one username, and PASSWORD_CHECKS_PER_MINUTE sign-ins, refreshes and registrations in all (429 with `Retry-After` beyond either).',
      consumes: ['application/x-www-form-urlencoded'],
      security: [],
      body: TokenRequest,
      response: {
        200: TokenResponse,
        ...documented,
        400: {
          description: 'A refresh token that cannot be used (OAuth2 `invalid_grant`), or an invalid form (problem details: `errors` lists each problem)',
          content: { 'application/json': { schema: OAuth2Error }, ...documented[400]?.content }
        }
      }
    }
  }, async (request, reply) => {
    const { body } = request
    if (body.grant_type === 'refresh_token') {
      const rotation = await fastify.sessions.rotate(body.refresh_token as string)
      if (rotation.outcome === 'rotated') return tokens(reply, rotation.userId, rotation.tokenVersion, rotation.refreshToken)
      if (rotation.outcome === 'reused') {
        request.log.warn({ userId: rotation.userId, sessionId: rotation.sessionId }, 'a refresh token was presented again after use: its sign-in is ended')
        return invalidGrant(reply, 'The refresh token was already used: its sign-in is ended, sign in again')
      }
      return invalidGrant(reply, 'The refresh token is invalid, expired or revoked: sign in again')
    }
    const found = await fastify.users.authenticate(body.username as string, body.password as string)
    const refuse = () => {
      reply.header('www-authenticate', 'Bearer')
      return httpError(401, 'Incorrect email or password')
    }
    if (found === null) throw refuse()
    if (!found.user.is_active) throw httpError(403, 'This account is deactivated')
    // Null when the password changed while this one was being checked: the old one no longer signs in.
    const refreshToken = await fastify.sessions.start(found.user.id, found.tokenVersion)
    if (refreshToken === null) throw refuse()
    return tokens(reply, found.user.id, found.tokenVersion, refreshToken)
  })
}

export default token
