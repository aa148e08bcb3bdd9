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

export interface TeamInvitationExport {
  team_id: string
  email: string
  role: TeamRole
  created_at: Date
  expires_at: Date
  accepted_at: Date | null
}

export interface TeamDataExport {
  memberships: TeamMembershipExport[]
  /** Every audit entry of the user's own actions, in every team, oldest first. */
  audit: Array<AuditEntry & { team_id: string }>
  /** The invitations the user sent, without their tokens. */
  invitations_sent: TeamInvitationExport[]
}

/** The tables teamDataOfUser reads the user's rows of: the account export's check counts them as exported. */
export const TEAM_TABLES_EXPORTED = ['team_members', 'player_guardians', 'team_audit', 'team_invitations']

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
  const { rows: invitations } = await query<TeamInvitationExport>(
    `SELECT team_id, email, role, created_at, expires_at, accepted_at FROM team_invitations
     WHERE invited_by = $1 ORDER BY created_at, team_id`,
    [userId]
  )
  return { memberships, audit, invitations_sent: invitations }
}
