import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { conditionalReadHeaders, conditionalWriteHeaders, etagHeader, requireIfMatch, sendRepresentation } from '../../../src/http/conditional.js'
import { httpError } from '../../../src/http/http-error.js'
import { pageHeaders, pageQuerySchema, pageSchema, sendPage } from '../../../src/pagination/pagination.js'
import type { TeamAccess } from '../../../src/teams/access.js'
import { described, preconditionRefusals, security, teamErrors, withETag } from '../../../src/teams/docs.js'
import { PLAYER_SORTS } from '../../../src/teams/players.js'
import { GuardianLinkParams, NewPlayerSchema, PlayerIdParams, PlayerPatchSchema, PlayerSchema, PositionSchema, RosterEntrySchema, TeamIdParams } from '../../../src/teams/schemas.js'

const roster: TeamAccess = { roles: ['coach', 'staff', 'guardian'] }
const changers: TeamAccess = { roles: ['coach', 'staff'] }
const details: TeamAccess = { roles: ['coach', 'staff', 'guardian'], linkedGuardian: true }
const coaches: TeamAccess = { roles: ['coach'] }

const teamPath = '/api/teams/0b6f3c52-8a7e-4d5b-9c1f-2e3d4a5b6c7d'
const playerPath = `${teamPath}/players/7d1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6`
const shirtTaken = { 409: { description: 'Another player of the team wears this shirt number', detail: 'Shirt number 8 is already worn by another player of this team' } }
const audited = ' Recorded in the team\'s audit.'

const players: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post('/:team_id/players', {
    onRequest: fastify.authenticate,
    config: { teamAccess: changers },
    schema: {
      operationId: 'createPlayer',
      tags: ['Players'],
      summary: 'Add a player',
      description: described('Adds a player to the team. `shirt_number` (optional) is unique within the team (409 when taken). `Location` is the new player\'s URI.' + audited, changers),
      security,
      params: TeamIdParams,
      body: NewPlayerSchema,
      response: {
        201: { description: 'The new player', headers: { Location: Type.String({ description: 'The new player\'s URI' }), ...etagHeader }, content: { 'application/json': { schema: PlayerSchema } } },
        ...teamErrors({ path: `${teamPath}/players`, team: true, body: true, own: shirtTaken })
      }
    }
  }, async (request, reply) => {
    const player = await fastify.players.create(request.teamMembership, request.body)
    reply.code(201).header('location', `/api/teams/${player.team_id}/players/${player.id}`)
    return sendRepresentation(request, reply, player)
  })

  fastify.get('/:team_id/players', {
    onRequest: fastify.authenticate,
    config: { teamAccess: roster },
    schema: {
      operationId: 'listPlayers',
      tags: ['Players'],
      summary: 'The roster',
      description: described('The team\'s players, a page at a time (`limit`, `cursor`; `sort` by `display_name` or `created_at`, `-` for descending; `position` filters). ' +
        'Each entry is what every member may see; a player\'s details are read one at a time.', roster),
      security,
      params: TeamIdParams,
      querystring: pageQuerySchema(PLAYER_SORTS, 'display_name', { position: Type.Optional(PositionSchema) }),
      response: {
        200: { description: 'One page of the roster', headers: pageHeaders, content: { 'application/json': { schema: pageSchema(RosterEntrySchema, RosterEntrySchema.examples[0]) } } },
        ...teamErrors({ path: `${teamPath}/players`, team: true, own: { 400: { description: 'An invalid `limit`, `sort`, `position` or `cursor`', detail: 'The request query string is invalid: /querystring/limit must be <= 100' } } })
      }
    }
  }, async (request, reply) => {
    const { position, ...page } = request.query
    return sendPage(request, reply, await fastify.players.list(request.teamMembership.teamId, page, { position }))
  })

  fastify.get('/:team_id/players/:player_id', {
    onRequest: fastify.authenticate,
    config: { teamAccess: details },
    schema: {
      operationId: 'getPlayer',
      tags: ['Players'],
      summary: 'A player\'s details',
      description: described('The player\'s details, with a strong `ETag`; `If-None-Match` with a current ETag gets 304. A read by anyone but a coach is recorded in the team\'s audit.', details),
      security,
      params: PlayerIdParams,
      headers: conditionalReadHeaders,
      response: { ...withETag(PlayerSchema, 'The player'), ...teamErrors({ path: playerPath, team: true }) }
    }
  }, async (request, reply) => {
    const { teamMembership } = request
    const player = await fastify.players.get(teamMembership, request.params.player_id, teamMembership.role !== 'coach')
    return sendRepresentation(request, reply, player)
  })

  fastify.patch('/:team_id/players/:player_id', {
    onRequest: fastify.authenticate,
    preHandler: requireIfMatch,
    config: { teamAccess: details },
    schema: {
      operationId: 'updatePlayer',
      tags: ['Players'],
      summary: 'Change a player\'s details',
      description: described('Changes the player. The body is a JSON Merge Patch (RFC 7396, `application/merge-patch+json`) or plain JSON with the same meaning: ' +
        'members present replace, `null` removes `shirt_number` or `notes`. The result must be a valid player (400 otherwise). ' +
        '`If-Match` must name the player\'s current ETag (428 without it, 412 when someone changed the player since).' + audited, details),
      security,
      params: PlayerIdParams,
      headers: conditionalWriteHeaders,
      body: { content: { 'application/merge-patch+json': { schema: PlayerPatchSchema }, 'application/json': { schema: PlayerPatchSchema } } },
      response: {
        200: { description: 'The changed player', headers: etagHeader, content: { 'application/json': { schema: PlayerSchema } } },
        ...teamErrors({ path: playerPath, team: true, body: true, own: { ...shirtTaken, ...preconditionRefusals } })
      }
    }
  }, async (request, reply) => {
    const player = await fastify.players.update(request.teamMembership, request.params.player_id, request.body, request.headers['if-match'])
    return sendRepresentation(request, reply, player)
  })

  fastify.delete('/:team_id/players/:player_id', {
    onRequest: fastify.authenticate,
    preHandler: requireIfMatch,
    config: { teamAccess: coaches },
    schema: {
      operationId: 'deletePlayer',
      tags: ['Players'],
      summary: 'Remove a player',
      description: described('Removes the player and their guardian links. `If-Match` must name the player\'s current ETag (428 without it, 412 when stale).' + audited, coaches),
      security,
      params: PlayerIdParams,
      headers: conditionalWriteHeaders,
      response: {
        204: Type.Null({ description: 'The player is removed' }),
        ...teamErrors({ path: playerPath, team: true, own: preconditionRefusals })
      }
    }
  }, async (request, reply) => {
    await fastify.players.remove(request.teamMembership, request.params.player_id, request.headers['if-match'])
    return reply.code(204).send(null)
  })

  fastify.put('/:team_id/players/:player_id/guardians/:user_id', {
    onRequest: fastify.authenticate,
    config: { teamAccess: coaches },
    schema: {
      operationId: 'linkGuardian',
      tags: ['Members'],
      summary: 'Link a guardian to a player',
      description: described('Links a member with the guardian role to the player: they may then read and correct the player\'s details. Linking twice changes nothing. ' +
        'A user who is not a guardian of the team gets 409.', coaches),
      security,
      params: GuardianLinkParams,
      response: {
        204: Type.Null({ description: 'The guardian is linked to the player' }),
        ...teamErrors({ path: `${playerPath}/guardians/4b4f8f4e-3f1d-4c55-9a57-3f0f7b1c2d10`, team: true, own: { 409: { description: 'The user is not a member of the team with the guardian role', detail: 'Only a member of this team with the guardian role can be linked to a player' } } })
      }
    }
  }, async (request, reply) => {
    await fastify.members.linkGuardian(request.teamMembership.teamId, request.params.player_id, request.params.user_id)
    return reply.code(204).send(null)
  })

  fastify.delete('/:team_id/players/:player_id/guardians/:user_id', {
    onRequest: fastify.authenticate,
    config: { teamAccess: coaches },
    schema: {
      operationId: 'unlinkGuardian',
      tags: ['Members'],
      summary: 'Unlink a guardian from a player',
      description: described('Ends a guardian\'s link to the player; 404 when there is none.', coaches),
      security,
      params: GuardianLinkParams,
      response: {
        204: Type.Null({ description: 'The link is removed' }),
        ...teamErrors({ path: `${playerPath}/guardians/4b4f8f4e-3f1d-4c55-9a57-3f0f7b1c2d10`, team: true })
      }
    }
  }, async (request, reply) => {
    const removed = await fastify.members.unlinkGuardian(request.teamMembership.teamId, request.params.player_id, request.params.user_id)
    if (!removed) throw httpError(404, 'This user is not linked to this player')
    return reply.code(204).send(null)
  })
}

export default players
