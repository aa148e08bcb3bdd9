import type { Query } from '../database/availability.js'
import { httpError } from '../http/http-error.js'
import type { TeamRole } from './schemas.js'

/**
 * Who may use a route under /api/teams/{team_id}: the roles listed; with `linkedGuardian`, a
 * guardian only for a player linked to them; with `self`, any member for their own membership.
 */
export interface TeamAccess {
  roles: readonly TeamRole[]
  linkedGuardian?: boolean
  self?: boolean
}

/** The caller's membership of the team a request is about, found once per request. */
export interface TeamMembership {
  teamId: string
  userId: string
  role: TeamRole
}

export interface TeamParams {
  team_id?: string
  player_id?: string
  user_id?: string
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const NO_TEAM = 'There is no team with this id'

/** A sentence naming the roles, for a 403 and for the OpenAPI descriptions. */
export function describeAccess ({ roles, linkedGuardian = false, self = false }: TeamAccess): string {
  const names = roles.map((role) => role === 'guardian' && linkedGuardian ? 'guardian (of a player linked to them)' : role)
  return `Roles: ${names.join(', ')}${self ? '; any member for their own membership' : ''}.`
}

/**
 * The caller's membership, or the refusal: 404 for a team that does not exist and a team the
 * caller is not a member of alike (no hint that it exists), 404 for a player not in the team,
 * 403 for a member whose role does not allow the route.
 */
export async function checkTeamAccess (query: Query, userId: string, params: TeamParams, access: TeamAccess): Promise<TeamMembership> {
  const teamId = params.team_id ?? ''
  if (!uuid.test(teamId)) throw httpError(404, NO_TEAM)
  const playerId = params.player_id
  if (playerId !== undefined && !uuid.test(playerId)) throw httpError(404, 'There is no player with this id in this team')
  const { rows } = await query<{ role: TeamRole, player_found: boolean, linked: boolean }>(
    `SELECT m.role, p.id IS NOT NULL AS player_found, g.user_id IS NOT NULL AS linked
     FROM team_members m
     LEFT JOIN players p ON p.id = $3 AND p.team_id = m.team_id
     LEFT JOIN player_guardians g ON g.player_id = p.id AND g.user_id = m.user_id
     WHERE m.team_id = $1 AND m.user_id = $2`,
    [teamId, userId, playerId ?? null]
  )
  const member = rows[0]
  if (member === undefined) throw httpError(404, NO_TEAM)
  if (playerId !== undefined && !member.player_found) throw httpError(404, 'There is no player with this id in this team')
  const { role } = member
  const byRole = access.roles.includes(role) && (role !== 'guardian' || access.linkedGuardian !== true || member.linked)
  const bySelf = access.self === true && params.user_id === userId
  if (!byRole && !bySelf) throw httpError(403, `Your role in this team (${role}) does not allow this. ${describeAccess(access)}`)
  return { teamId, userId, role }
}
