import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { exportUserData } from '../../../../src/accounts/export.js'
import { teamDataOfUser } from '../../../../src/teams/export.js'
import { databaseRefusals, errorResponses, malformedRequest } from '../../../../src/http/error-responses.js'

const Row = Type.Object({}, { additionalProperties: true, description: 'One row, its columns as fields; times are ISO 8601' })

const AccountExport = Type.Object({
  exported_at: Type.Unsafe<Date>({ type: 'string', format: 'date-time' }),
  data: Type.Record(Type.String(), Type.Array(Row), {
    description: 'The user\'s rows, by table: `users` (the account), `sessions` (sign-ins), `refresh_tokens`, `email_tokens` (mailed links not yet used, without the tokens), ' +
      '`mail_outbox` (mail not yet delivered, without the bodies), and the tables later features add. Password and token hashes are never included'
  }),
  teams: Type.Object({
    memberships: Type.Array(Row, { description: 'The teams the user is a member of, with the role, and for a guardian the players linked to them' }),
    audit: Type.Array(Row, { description: 'Every audit entry of the user\'s own actions on players, in every team' }),
    invitations_sent: Type.Array(Row, { description: 'The team invitations the user sent, without their tokens' })
  }, { description: 'The user\'s data in teams' })
}, {
  title: 'AccountExport',
  description: 'Everything the service holds about the user (GDPR Art. 15 and 20)',
  examples: [{
    exported_at: '2025-01-15T09:30:00.000Z',
    data: {
      users: [{ id: '4b4f8f4e-3f1d-4c55-9a57-3f0f7b1c2d10', email: 'ana.coach@example.com', full_name: 'Ana Coach', is_active: true, email_verified_at: '2025-01-15T09:10:00+00:00', created_at: '2025-01-15T09:00:00+00:00' }],
      sessions: [{ id: '0c0e8a1f-2b5d-4f6e-8a9b-1c2d3e4f5a6b', created_at: '2025-01-15T09:20:00+00:00', expires_at: '2025-02-14T09:20:00+00:00' }],
      refresh_tokens: [{ session_id: '0c0e8a1f-2b5d-4f6e-8a9b-1c2d3e4f5a6b', expires_at: '2025-02-14T09:20:00+00:00', used_at: null }],
      email_tokens: [],
      mail_outbox: []
    },
    teams: {
      memberships: [{ team_id: '6f1c1f8e-9b0a-4d3e-8c2b-5a4f3e2d1c0b', team_name: 'Riverside U12', role: 'coach', joined_at: '2025-01-15T09:40:00.000Z', player_ids: [] }],
      audit: [],
      invitations_sent: []
    }
  }]
})

const exportRoute: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/export', {
    onRequest: fastify.authenticate,
    schema: {
      operationId: 'exportCurrentUser',
      tags: ['Users'],
      summary: 'Everything held about the signed-in user, as JSON',
      description: 'All data the service holds about the signed-in user, read from one snapshot of the database, for the user to keep or take elsewhere. ' +
        'Sent with `Cache-Control: no-store` and as an attachment.',
      security: [{ OAuth2PasswordBearer: [] }, { HTTPBearer: [] }],
      response: {
        200: AccountExport,
        ...errorResponses('/api/users/me/export', {
          ...malformedRequest,
          401: { description: 'No bearer token, or one that is malformed, expired, forged or names no account', detail: 'Could not validate credentials' },
          403: { description: 'The account is deactivated', detail: 'This account is deactivated' },
          ...databaseRefusals
        })
      }
    }
  }, async (request, reply) => {
    const { query } = fastify.databaseAvailability
    const [data, teams] = await Promise.all([exportUserData(query, request.user.id), teamDataOfUser(query, request.user.id)])
    reply.header('cache-control', 'no-store').header('content-disposition', 'attachment; filename="spinta-account.json"')
    return { exported_at: new Date(), data, teams }
  })
}

export default exportRoute
