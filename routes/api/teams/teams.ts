import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { conditionalReadHeaders, etagHeader, conditionalWriteHeaders, requireIfMatch, sendRepresentation } from '../../../src/http/conditional.js'
import { pageHeaders, pageQuerySchema, pageSchema, sendPage } from '../../../src/pagination/pagination.js'
import type { TeamAccess } from '../../../src/teams/access.js'
import { described, preconditionRefusals, security, teamErrors, withETag } from '../../../src/teams/docs.js'
import { MyTeamSchema, NewTeamSchema, TeamIdParams, TeamPatchSchema, TeamSchema } from '../../../src/teams/schemas.js'
import { TEAM_SORTS } from '../../../src/teams/teams.js'

const members: TeamAccess = { roles: ['coach', 'staff', 'guardian'] }
const coaches: TeamAccess = { roles: ['coach'] }
const patchBody = { content: { 'application/merge-patch+json': { schema: TeamPatchSchema }, 'application/json': { schema: TeamPatchSchema } } }

const teams: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post('', {
    onRequest: fastify.authenticate,
    schema: {
      operationId: 'createTeam',
      tags: ['Teams'],
      summary: 'Create a team',
      description: described('Creates a team; the caller becomes its coach. `Location` is the new team\'s URI.'),
      security,
      body: NewTeamSchema,
      response: {
        201: { description: 'The new team', headers: { Location: Type.String({ description: 'The new team\'s URI' }) }, content: { 'application/json': { schema: TeamSchema } } },
        ...teamErrors({ path: '/api/teams', body: true })
      }
    }
  }, async (request, reply) => {
    const team = await fastify.teams.create(request.user.id, request.body.name)
    return reply.code(201).header('location', `/api/teams/${team.id}`).send(team)
  })

  fastify.get('', {
    onRequest: fastify.authenticate,
    schema: {
      operationId: 'listMyTeams',
      tags: ['Teams'],
      summary: 'The caller\'s teams',
      description: described('The teams the caller is a member of, with their role in each, a page at a time (`limit`, `cursor`; `sort` by `name` or `created_at`).'),
      security,
      querystring: pageQuerySchema(TEAM_SORTS, 'name'),
      response: {
        200: { description: 'One page of teams', headers: pageHeaders, content: { 'application/json': { schema: pageSchema(MyTeamSchema, MyTeamSchema.examples[0]) } } },
        ...teamErrors({ path: '/api/teams', own: { 400: { description: 'An invalid `limit`, `sort` or `cursor`', detail: 'The request query string is invalid: /querystring/limit must be <= 100' } } })
      }
    }
  }, async (request, reply) => sendPage(request, reply, await fastify.teams.listMine(request.user.id, request.query)))

  fastify.get('/:team_id', {
    onRequest: fastify.authenticate,
    config: { teamAccess: members },
    schema: {
      operationId: 'getTeam',
      tags: ['Teams'],
      summary: 'A team',
      description: described('The team, with a strong `ETag`; `If-None-Match` with a current ETag gets 304.', members),
      security,
      params: TeamIdParams,
      headers: conditionalReadHeaders,
      response: { ...withETag(TeamSchema, 'The team'), ...teamErrors({ path: '/api/teams/0b6f3c52-8a7e-4d5b-9c1f-2e3d4a5b6c7d', team: true }) }
    }
  }, async (request, reply) => {
    const team = await fastify.teams.get(request.params.team_id)
    return sendRepresentation(request, reply, team)
  })

  fastify.patch('/:team_id', {
    onRequest: fastify.authenticate,
    preHandler: requireIfMatch,
    config: { teamAccess: coaches },
    schema: {
      operationId: 'updateTeam',
      tags: ['Teams'],
      summary: 'Change a team',
      description: described('Changes the team\'s name. The body is a JSON Merge Patch (RFC 7396, `application/merge-patch+json`) or plain JSON with the same meaning. ' +
        '`If-Match` must name the team\'s current ETag (428 without it, 412 when someone changed the team since).', coaches),
      security,
      params: TeamIdParams,
      headers: conditionalWriteHeaders,
      body: patchBody,
      response: {
        200: { description: 'The changed team', headers: etagHeader, content: { 'application/json': { schema: TeamSchema } } },
        ...teamErrors({ path: '/api/teams/0b6f3c52-8a7e-4d5b-9c1f-2e3d4a5b6c7d', team: true, body: true, own: preconditionRefusals })
      }
    }
  }, async (request, reply) => {
    const team = await fastify.teams.update(request.params.team_id, request.body, request.headers['if-match'])
    return sendRepresentation(request, reply, team)
  })

  fastify.delete('/:team_id', {
    onRequest: fastify.authenticate,
    preHandler: requireIfMatch,
    config: { teamAccess: coaches },
    schema: {
      operationId: 'deleteTeam',
      tags: ['Teams'],
      summary: 'Delete a team',
      description: described('Deletes the team with its players, members, guardian links and invitations. The audit entries stay. ' +
        '`If-Match` must name the team\'s current ETag (428 without it, 412 when someone changed the team since).', coaches),
      security,
      params: TeamIdParams,
      headers: conditionalWriteHeaders,
      response: {
        204: Type.Null({ description: 'The team is deleted' }),
        ...teamErrors({ path: '/api/teams/0b6f3c52-8a7e-4d5b-9c1f-2e3d4a5b6c7d', team: true, own: preconditionRefusals })
      }
    }
  }, async (request, reply) => {
    await fastify.teams.remove(request.params.team_id, request.headers['if-match'])
    return reply.code(204).send(null)
  })
}

export default teams
