import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { checkTeamAccess, type TeamAccess, type TeamMembership, type TeamParams } from '../../src/teams/access.js'
import type { TeamDatabase } from '../../src/teams/database.js'
import { memberStore, type MemberStore } from '../../src/teams/members.js'
import { playerStore, type PlayerStore } from '../../src/teams/players.js'
import { teamStore, type TeamStore } from '../../src/teams/teams.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Required on every route with a `:team_id` parameter: the app refuses to start without it. */
    teamAccess?: TeamAccess
  }
  interface FastifyRequest {
    /** The caller's membership of the route's team, set before validation on routes with `teamAccess`. */
    teamMembership: TeamMembership
  }
  interface FastifyInstance {
    teams: TeamStore
    players: PlayerStore
    members: MemberStore
    /** The transaction-capable database of the team stores. */
    teamDatabase: TeamDatabase
  }
}

/**
 * Teams, players and members, and object-level access to them, checked here once for every route:
 * a route with a `:team_id` parameter declares `config.teamAccess`, and this plugin gives it a
 * preValidation hook that checks the caller's membership and role before anything else of the
 * request is looked at.
 */
export default fp(async function teams (fastify) {
  const availability = fastify.databaseAvailability
  const database: TeamDatabase = {
    query: availability.query,
    transaction: (work) => availability.guard(() => fastify.pg.transact((client) => work((text, values) => client.query(text, values))))
  }
  fastify.decorate('teamDatabase', database)
  fastify.decorate('teams', teamStore(database))
  fastify.decorate('players', playerStore(database))
  fastify.decorate('members', memberStore(database))
  fastify.decorateRequest('teamMembership', null as unknown as TeamMembership)

  // A hook on team routes only: one on every route would cost every request a promise.
  fastify.addHook('onRoute', (route) => {
    const access = route.config?.teamAccess
    if (access === undefined) {
      if (route.url.includes(':team_id')) {
        throw new Error(`${String(route.method)} ${route.url} has a :team_id parameter but no config.teamAccess: every team route declares who may use it`)
      }
      return
    }
    // The route's own onRequest hook (fastify.authenticate) has set the user by the time it runs.
    const checkAccess = async function checkAccess (request: FastifyRequest): Promise<void> {
      request.teamMembership = await checkTeamAccess(availability.query, request.user.id, request.params as TeamParams, access)
    }
    // First of the route's preValidation hooks, where an app-wide hook would run.
    route.preValidation = [checkAccess, ...[route.preValidation ?? []].flat()]
  })

  // RFC 7396 bodies are JSON: parsed like application/json, with the same protections.
  fastify.addContentTypeParser('application/merge-patch+json', { parseAs: 'string' }, fastify.getDefaultJsonParser('error', 'error'))
}, { name: 'teams', dependencies: ['auth', 'database', 'database-availability', 'migrations', 'errors'] })
