import type { Query } from '../database/availability.js'
import { auditColumns } from './audit.js'
import type { AuditEntry, TeamRole } from './schemas.js'

export interface TeamMembershipExport {
  team_id: string
  team_name: string
  role: TeamRole
  joined_at: Date
  /** For a guardian, the players linked to them. */
  player_ids: string[]
}

export interface TeamDataExport {
  memberships: TeamMembershipExport[]
  /** Every audit entry of the user's own actions, in every team, oldest first. */
  audit: Array<AuditEntry & { team_id: string }>
}

/** All the team data about one user, for the account export. */
export async function teamDataOfUser (query: Query, userId: string): Promise<TeamDataExport> {
  const { rows: memberships } = await query<TeamMembershipExport>(
    `SELECT m.team_id, t.name AS team_name, m.role, m.joined_at,
       ARRAY(SELECT g.player_id::text FROM player_guardians g WHERE g.team_id = m.team_id AND g.user_id = m.user_id ORDER BY g.player_id) AS player_ids
     FROM team_members m JOIN teams t ON t.id = m.team_id WHERE m.user_id = $1 ORDER BY m.joined_at, m.team_id`,
    [userId]
  )
  const { rows: audit } = await query<AuditEntry & { team_id: string }>(
    `SELECT a.team_id, ${auditColumns} FROM team_audit a WHERE a.actor_id = $1 ORDER BY a.id`,
    [userId]
  )
  return { memberships, audit }
}
