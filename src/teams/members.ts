import { createHash, randomBytes } from 'node:crypto'
import type { Query } from '../database/availability.js'
import type { User } from '../accounts/user.js'
import { httpError } from '../http/http-error.js'
import { keysetPage, type Page, type PageRequest } from '../pagination/pagination.js'
import type { TeamDatabase } from './database.js'
import { joinEligibility } from './eligibility.js'
import type { Member, TeamRole } from './schemas.js'
import type { MyTeam } from './teams.js'

export const MEMBER_SORTS = ['joined_at']
export const INVITATION_DAYS = 7

export interface IssuedInvitation {
  token: string
  teamName: string
}

export interface MemberStore {
  list: (teamId: string, page: PageRequest) => Promise<Page<Member>>
  /** Removes a member; the team's last coach cannot leave (409). */
  remove: (teamId: string, userId: string) => Promise<void>
  /** Stores an invitation and returns its token, which is kept only as a hash. */
  invite: (teamId: string, invitedBy: string, email: string, role: TeamRole) => Promise<IssuedInvitation>
  /** Makes `user` a member with the invitation's role, once; the token then stops working. */
  accept: (token: string, user: User) => Promise<MyTeam>
  /** Links a guardian of the team to a player of the team. */
  linkGuardian: (teamId: string, playerId: string, userId: string) => Promise<void>
  /** False when there was no such link. */
  unlinkGuardian: (teamId: string, playerId: string, userId: string) => Promise<boolean>
}

/** 32 random bytes (256 bits); only their SHA-256 is stored. */
function newToken (): string {
  return randomBytes(32).toString('base64url')
}

function hashOf (token: string): Buffer {
  return createHash('sha256').update(token).digest()
}

export function memberStore ({ query, transaction }: TeamDatabase): MemberStore {
  return {
    list (teamId, page) {
      return keysetPage<Member>(query, {
        columns: `m.user_id, u.email, u.full_name, m.role, m.joined_at,
          ARRAY(SELECT g.player_id::text FROM player_guardians g WHERE g.team_id = m.team_id AND g.user_id = m.user_id ORDER BY g.player_id) AS player_ids`,
        from: 'team_members m JOIN users u ON u.id = m.user_id',
        where: 'm.team_id = $1',
        params: [teamId],
        sorts: { joined_at: { column: 'm.joined_at', type: 'timestamptz' } },
        id: { column: 'm.user_id', type: 'uuid' }
      }, page)
    },

    remove (teamId, userId) {
      return transaction(async (q) => {
        // The team's row lock orders concurrent removals: two coaches leaving at once cannot both be "not the last".
        await q('SELECT 1 FROM teams WHERE id = $1 FOR UPDATE', [teamId])
        const { rows } = await q<{ role: TeamRole, coaches: number }>(
          `SELECT role, (SELECT count(*)::int FROM team_members WHERE team_id = $1 AND role = 'coach') AS coaches
           FROM team_members WHERE team_id = $1 AND user_id = $2`,
          [teamId, userId]
        )
        const member = rows[0]
        if (member === undefined) throw httpError(404, 'This user is not a member of this team')
        if (member.role === 'coach' && member.coaches === 1) {
          throw httpError(409, 'The last coach cannot leave the team: invite another coach first, or delete the team')
        }
        await q('DELETE FROM team_members WHERE team_id = $1 AND user_id = $2', [teamId, userId])
      })
    },

    async invite (teamId, invitedBy, email, role) {
      const token = newToken()
      const { rows } = await query<{ name: string }>(
        `INSERT INTO team_invitations (token_hash, team_id, email, role, invited_by, expires_at)
         SELECT $1, id, $3, $4, $5, now() + make_interval(days => $6) FROM teams WHERE id = $2
         RETURNING (SELECT name FROM teams WHERE id = $2)`,
        [hashOf(token), teamId, email, role, invitedBy, INVITATION_DAYS]
      )
      if (rows[0] === undefined) throw httpError(404, 'There is no team with this id')
      return { token, teamName: rows[0].name }
    },

    accept (token, user) {
      return transaction(async (q: Query) => {
        const { rows } = await q<{ team_id: string, email: string, role: TeamRole }>(
          `SELECT team_id, email, role FROM team_invitations
           WHERE token_hash = $1 AND accepted_at IS NULL AND expires_at > now() FOR UPDATE`,
          [hashOf(token)]
        )
        const invitation = rows[0]
        if (invitation === undefined) throw httpError(400, 'This invitation is unknown, already used or expired')
        const eligibility = joinEligibility(user, invitation.email)
        if (!eligibility.eligible) throw httpError(403, eligibility.reason)
        await q('UPDATE team_invitations SET accepted_at = now() WHERE token_hash = $1', [hashOf(token)])
        const { rows: joined } = await q<MyTeam>(
          `WITH member AS (
             INSERT INTO team_members (team_id, user_id, role) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING team_id, role
           )
           SELECT t.id, t.name, t.created_at, t.updated_at, member.role FROM member JOIN teams t ON t.id = member.team_id`,
          [invitation.team_id, user.id, invitation.role]
        )
        if (joined[0] === undefined) throw httpError(409, 'You are already a member of this team')
        return joined[0]
      })
    },

    async linkGuardian (teamId, playerId, userId) {
      const { rows } = await query<{ linked: boolean }>(
        `WITH guardian AS (SELECT user_id FROM team_members WHERE team_id = $1 AND user_id = $3 AND role = 'guardian'),
         linked AS (
           INSERT INTO player_guardians (team_id, player_id, user_id) SELECT $1, $2, user_id FROM guardian
           ON CONFLICT DO NOTHING
         )
         SELECT true AS linked FROM guardian`,
        [teamId, playerId, userId]
      )
      if (rows[0] === undefined) throw httpError(409, 'Only a member of this team with the guardian role can be linked to a player')
    },

    async unlinkGuardian (teamId, playerId, userId) {
      const { rowCount } = await query('DELETE FROM player_guardians WHERE team_id = $1 AND player_id = $2 AND user_id = $3', [teamId, playerId, userId])
      return rowCount === 1
    }
  }
}
