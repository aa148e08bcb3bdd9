import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { pageHeaders, pageQuerySchema, pageSchema, sendPage } from '../../../src/pagination/pagination.js'
import type { TeamAccess } from '../../../src/teams/access.js'
import { auditPage, AUDIT_SORTS } from '../../../src/teams/audit.js'
import { described, security, teamErrors } from '../../../src/teams/docs.js'
import { INVITATION_DAYS, MEMBER_SORTS } from '../../../src/teams/members.js'
import { teamInvitation } from '../../../src/mail/templates.js'
import { AuditEntrySchema, InvitationSchema, MemberIdParams, MemberSchema, TeamIdParams } from '../../../src/teams/schemas.js'

const readers: TeamAccess = { roles: ['coach', 'staff'] }
const coaches: TeamAccess = { roles: ['coach'] }
const coachesOrSelf: TeamAccess = { roles: ['coach'], self: true }

const teamPath = '/api/teams/0b6f3c52-8a7e-4d5b-9c1f-2e3d4a5b6c7d'
const invalidPage = { 400: { description: 'An invalid `limit`, `sort` or `cursor`', detail: 'The request query string is invalid: /querystring/limit must be <= 100' } }

const members: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/:team_id/members', {
    onRequest: fastify.authenticate,
    config: { teamAccess: readers },
    schema: {
      operationId: 'listMembers',
      tags: ['Members'],
      summary: 'The team\'s members',
      description: described('The members with their roles, and for each guardian the players linked to them, a page at a time (`limit`, `cursor`; `sort` by `joined_at`).', readers),
      security,
      params: TeamIdParams,
      querystring: pageQuerySchema(MEMBER_SORTS, 'joined_at'),
      response: {
        200: { description: 'One page of members', headers: pageHeaders, content: { 'application/json': { schema: pageSchema(MemberSchema, MemberSchema.examples[0]) } } },
        ...teamErrors({ path: `${teamPath}/members`, team: true, own: invalidPage })
      }
    }
  }, async (request, reply) => sendPage(request, reply, await fastify.members.list(request.teamMembership.teamId, request.query)))

  fastify.delete('/:team_id/members/:user_id', {
    onRequest: fastify.authenticate,
    config: { teamAccess: coachesOrSelf },
    schema: {
      operationId: 'removeMember',
      tags: ['Members'],
      summary: 'Remove a member, or leave',
      description: described('Removes the member and their guardian links; a member may remove themselves (leave). The team\'s last coach cannot leave (409).', coachesOrSelf),
      security,
      params: MemberIdParams,
      response: {
        204: Type.Null({ description: 'The member is removed' }),
        ...teamErrors({
          path: `${teamPath}/members/4b4f8f4e-3f1d-4c55-9a57-3f0f7b1c2d10`,
          team: true,
          own: { 409: { description: 'The member is the team\'s last coach', detail: 'The last coach cannot leave the team: invite another coach first, or delete the team' } }
        })
      }
    }
  }, async (request, reply) => {
    await fastify.members.remove(request.teamMembership.teamId, request.params.user_id)
    return reply.code(204).send(null)
  })

  fastify.post('/:team_id/invitations', {
    onRequest: fastify.authenticate,
    config: { teamAccess: coaches },
    schema: {
      operationId: 'inviteMember',
      tags: ['Members'],
      summary: 'Invite someone to the team',
      description: described('Mails an invitation to join the team with `role`. The answer is 202 whether or not the address has an account, so it tells nothing about who has one. ' +
        `The mail links to APP_URL/accept-invitation?token=...; the token works once, within ${INVITATION_DAYS} days, for the account with that email once its address is verified (POST /api/invitations/accept).`, coaches),
      security,
      params: TeamIdParams,
      body: InvitationSchema,
      response: {
        202: Type.Null({ description: 'The invitation is on its way' }),
        ...teamErrors({ path: `${teamPath}/invitations`, team: true, body: true })
      }
    }
  }, async (request, reply) => {
    const { email, role } = request.body
    const { token, teamName } = await fastify.members.invite(request.teamMembership.teamId, request.user.id, email, role)
    await fastify.mail.send({ to: email, ...teamInvitation({ appUrl: fastify.config.APP_URL, teamName, inviterName: request.user.full_name, role, token, days: INVITATION_DAYS }) })
    return reply.code(202).send(null)
  })

  fastify.get('/:team_id/audit', {
    onRequest: fastify.authenticate,
    config: { teamAccess: coaches },
    schema: {
      operationId: 'listTeamAudit',
      tags: ['Members'],
      summary: 'The team\'s audit',
      description: described('Who changed which player\'s data, and who other than a coach read a player\'s details, when: a page at a time (`limit`, `cursor`; `sort` by `at`, `-at` for newest first). ' +
        'Entries are never changed or removed.', coaches),
      security,
      params: TeamIdParams,
      querystring: pageQuerySchema(AUDIT_SORTS, '-at'),
      response: {
        200: { description: 'One page of audit entries', headers: pageHeaders, content: { 'application/json': { schema: pageSchema(AuditEntrySchema, AuditEntrySchema.examples[0]) } } },
        ...teamErrors({ path: `${teamPath}/audit`, team: true, own: invalidPage })
      }
    }
  }, async (request, reply) => sendPage(request, reply, await auditPage(fastify.teamDatabase.query, request.teamMembership.teamId, request.query)))
}

export default members
