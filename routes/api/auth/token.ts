import formbody from '@fastify/formbody'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import { bodyRefusals, databaseRefusals, errorResponses } from '../../../src/http/error-responses.js'
import type { Issued } from '../../../src/accounts/session-store.js'
import { clientIp } from '../../../src/http/client-key.js'

// The grant decides which fields are required: JSON Schema's if/then says so in one object, which
// keeps the form flat for Swagger UI.
const Username = Type.String({ minLength: 1, maxLength: 254, pattern: '^[^\\u0000]*$', description: 'The account email (password grant)' })
const Password = Type.String({ minLength: 1, maxLength: 1024, description: 'Password grant' })
const RefreshToken = Type.String({ minLength: 1, maxLength: 256, description: 'A refresh token from an earlier response (refresh_token grant)' })

const GRANT_TYPES = ['password', 'refresh_token'] as const
const GrantType = Type.Unsafe<typeof GRANT_TYPES[number]>({
  type: 'string',
  enum: GRANT_TYPES,
  description: '`password` signs in with `username` and `password`; `refresh_token` exchanges a `refresh_token`'
})

const TokenRequest = Type.Object({
  grant_type: GrantType,
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
    { if: { properties: { grant_type: { const: 'refresh_token' } } }, then: { properties: { grant_type: GrantType, refresh_token: RefreshToken }, required: ['refresh_token'] } }
  ],
  examples: [
    { grant_type: 'password', username: 'ana.coach@example.com', password: 'correct horse battery staple' },
    { grant_type: 'refresh_token', refresh_token: 'q2Xh0Zb4m1Vw8dE7sKpL3nRtY6uJcA9fG5oH2iN0vBk' }
  ]
})

type TokenForm = Static<typeof TokenRequest>

const TokenResponse = Type.Object({
  access_token: Type.String({ description: 'A JWT (RFC 9068) to send as `Authorization: Bearer <access_token>`; it stops working when its sign-in ends' }),
  token_type: Type.Literal('bearer'),
  expires_in: Type.Integer({ description: 'Seconds until the access token expires (ACCESS_TOKEN_EXPIRE_MINUTES)' }),
  refresh_token: Type.String({ description: 'Gets the next access token from this endpoint with `grant_type=refresh_token`. It works once (again within REFRESH_GRACE_SECONDS): the answer carries its replacement' }),
  refresh_token_expires_in: Type.Integer({ description: 'Seconds until the refresh token expires if it is not used: the idle timeout (REFRESH_TOKEN_EXPIRE_DAYS), never past the end of the sign-in (SESSION_LIFETIME_DAYS)' })
}, {
  description: 'The access token, the refresh token, and how long each lasts (RFC 6749 §5.1)',
  examples: [{
    access_token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiI0YjRmOGY0ZSJ9.c2lnbmF0dXJl',
    token_type: 'bearer',
    expires_in: 1800,
    refresh_token: 'q2Xh0Zb4m1Vw8dE7sKpL3nRtY6uJcA9fG5oH2iN0vBk',
    refresh_token_expires_in: 1209600
  }]
})

/** RFC 6749 §5.2: the error codes this endpoint answers with. */
const OAUTH_ERRORS = ['invalid_request', 'invalid_grant', 'unsupported_grant_type'] as const
type OAuthErrorCode = typeof OAUTH_ERRORS[number]

/** RFC 6749 §5.2: the error body OAuth2 clients expect when a token request is refused. */
const OAuth2Error = Type.Object({
  error: Type.Unsafe<OAuthErrorCode>({
    type: 'string',
    enum: OAUTH_ERRORS,
    description: '`invalid_request`: a parameter is missing, malformed or repeated; `unsupported_grant_type`: `grant_type` is neither `password` nor `refresh_token`; ' +
      '`invalid_grant`: wrong email or password, a deactivated account, or a refresh token that is unknown, expired, reused or ended'
  }),
  error_description: Type.String({ description: 'Why, for the developer' })
}, {
  title: 'OAuth2Error',
  description: 'An OAuth2 error (RFC 6749 §5.2)',
  examples: [{ error: 'invalid_grant', error_description: 'Incorrect email or password' }]
})

const isRefresh = (request: FastifyRequest) => (request.body as Partial<TokenForm> | undefined)?.grant_type === 'refresh_token'

const documented = errorResponses('/api/auth/token', {
  ...bodyRefusals,
  429: { description: 'Too many attempts: for this account, for this username from this client IP, password checks or refreshes from this client IP', detail: 'Too many sign-in attempts for this account from this address; retry in 42 s' },
  ...databaseRefusals
})

const token: FastifyPluginAsyncTypebox = async (fastify) => {
  // OAuth2 clients (Swagger UI's Authorize button among them) post the form encoding, to this route only.
  await fastify.register(formbody)

  const expiresIn = fastify.config.ACCESS_TOKEN_EXPIRE_MINUTES * 60
  // Counted after validation, so the count can name the account: guessing one account's password is
  // slowed, and other clients signing in to it are not.
  const attemptsPerAccount = fastify.perClientLimit({
    name: 'sign-in',
    perMinute: fastify.config.LOGIN_ATTEMPTS_PER_MINUTE,
    per: (request) => fastify.signInKey(request),
    refusal: 'Too many sign-in attempts for this account from this address'
  })
  const refreshes = fastify.perClientLimit({
    name: 'refreshes',
    perMinute: fastify.config.REFRESHES_PER_MINUTE,
    refusal: 'Too many refreshes from this address'
  })
  // RFC 6749 §5.1: answers carrying tokens, or refusing them, must not be cached.
  const noStore = (reply: FastifyReply) => reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
  const oauthError = (reply: FastifyReply, error: OAuthErrorCode, description: string) =>
    noStore(reply).code(400).send({ error, error_description: description })

  /** RFC 6749 §5.2's answer to a form the schema refused: which OAuth2 error it is. */
  const refuseInvalidForm: preHandlerAsyncHookHandler = async (request, reply) => {
    const failed = request.validationError
    if (failed === undefined) return
    const problems = (failed as { validation?: Array<{ instancePath: string, keyword: string, message?: string, params: Record<string, unknown> }> }).validation ?? []
    const grantType = (request.body as Record<string, unknown> | undefined)?.grant_type
    if (grantType === undefined) return oauthError(reply, 'invalid_request', 'grant_type is required: password or refresh_token')
    if (typeof grantType === 'string' && !(GRANT_TYPES as readonly string[]).includes(grantType)) {
      return oauthError(reply, 'unsupported_grant_type', 'grant_type must be password or refresh_token')
    }
    // Each problem as "<parameter> <what is wrong>"; the grant's if/then adds nothing to the problems it wraps.
    const described = problems.filter(({ keyword }) => keyword !== 'if').map(({ instancePath, message, params }) => {
      if (typeof params.missingProperty === 'string') return `${params.missingProperty} is required`
      return `${instancePath === '' ? 'the form' : instancePath.slice(1)} ${message ?? 'is invalid'}`
    })
    return oauthError(reply, 'invalid_request', described.length === 0 ? 'The form is invalid' : [...new Set(described)].join('; '))
  }

  const passwordGrantOnly = (hook: preHandlerAsyncHookHandler): preHandlerAsyncHookHandler =>
    async function (request, reply) { if (!isRefresh(request)) await hook.call(this, request, reply) }
  const refreshGrantOnly = (hook: preHandlerAsyncHookHandler): preHandlerAsyncHookHandler =>
    async function (request, reply) { if (isRefresh(request)) await hook.call(this, request, reply) }

  const tokens = async (reply: FastifyReply, issued: Issued) => {
    noStore(reply)
    return {
      access_token: await fastify.signAccessToken({ sub: issued.userId, sid: issued.sessionId, ver: issued.tokenVersion, gen: issued.generation }),
      token_type: 'bearer' as const,
      expires_in: expiresIn,
      refresh_token: issued.refreshToken,
      refresh_token_expires_in: issued.refreshExpiresIn
    }
  }

  fastify.post('/token', {
    attachValidation: true,
    // The per-address count for the username is checked first and added to after the address's
    // budget, so attempts that budget refuses add no rows to the shared table; attempts sent one at a
    // time past the username's limit do not spend the budget either (concurrent ones may). The
    // account's hourly count comes last, so only attempts every per-address limit allowed spend it.
    preHandler: [
      refuseInvalidForm,
      refreshGrantOnly(refreshes.count),
      passwordGrantOnly(attemptsPerAccount.refuseIfSpent),
      passwordGrantOnly(fastify.limitPasswordChecks),
      passwordGrantOnly(attemptsPerAccount.count),
      passwordGrantOnly(fastify.limitAccountAttempts)
    ],
    schema: {
      operationId: 'createAccessToken',
      tags: ['Auth'],
      summary: 'Sign in or refresh: get an access token and a refresh token',
      description: 'The OAuth 2.0 token endpoint (RFC 6749), form-encoded; `grant_type` is required. ' +
        '`grant_type=password`: `username` (the email) and `password` sign in. ' +
        '`grant_type=refresh_token`: a `refresh_token` from an earlier answer gets new tokens, without the password. ' +
        'Each refresh token works once; presenting one that was already used ends its whole sign-in, the newest refresh token included, and the user must sign in again — ' +
        'except within REFRESH_GRACE_SECONDS of its use (its answer was lost), when it gets another new pair and the pair it got before stops working. ' +
        'Refusals are RFC 6749 §5.2 errors: 400 with `invalid_request`, `unsupported_grant_type` or `invalid_grant` (wrong credentials, a deactivated account, or a refresh token that is unknown, expired, reused or ended). ' +
        'Wrong credentials are answered as slowly for an unknown email as for a wrong password. Every answer carries `Cache-Control: no-store` and `Pragma: no-cache`. ' +
        'Limits (429 with `Retry-After`): ACCOUNT_LOGIN_ATTEMPTS_PER_HOUR per account from clients that have not signed in to it before, LOGIN_ATTEMPTS_PER_MINUTE per client IP and username, ' +
        'PASSWORD_CHECKS_PER_MINUTE password checks and REFRESHES_PER_MINUTE refreshes per client IP. A successful sign-in sets an HttpOnly device cookie that keeps this client its own allowance for the account.',
      consumes: ['application/x-www-form-urlencoded'],
      security: [],
      body: TokenRequest,
      response: {
        200: TokenResponse,
        400: {
          description: 'The token request is refused (RFC 6749 §5.2)',
          content: { 'application/json': { schema: OAuth2Error } }
        },
        ...documented
      }
    }
  }, async (request, reply) => {
    const { body } = request
    if (body.grant_type === 'refresh_token') {
      const rotation = await fastify.sessions.rotate(body.refresh_token as string)
      if (rotation.outcome === 'rotated') return tokens(reply, rotation)
      if (rotation.outcome === 'reused') {
        request.log.warn({ userId: rotation.userId, sessionId: rotation.sessionId }, 'a refresh token was presented again after use: its sign-in is ended')
        return oauthError(reply, 'invalid_grant', 'The refresh token was already used: its sign-in is ended, sign in again')
      }
      return oauthError(reply, 'invalid_grant', 'The refresh token is invalid, expired or revoked: sign in again')
    }
    const found = await fastify.users.authenticate(body.username as string, body.password as string)
    const refuse = () => oauthError(reply, 'invalid_grant', 'Incorrect email or password')
    if (found === null) return refuse()
    if (!found.user.is_active) return oauthError(reply, 'invalid_grant', 'This account is deactivated')
    // Null when the password changed while this one was being checked: the old one no longer signs in.
    const issued = await fastify.sessions.start(found.user.id, found.tokenVersion, { clientIp: clientIp(request), userAgent: request.headers['user-agent'] })
    if (issued === null) return refuse()
    await fastify.signedIn(request, reply)
    return tokens(reply, issued)
  })
}

export default token
