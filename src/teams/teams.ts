import { checkIfMatch, patchedResource } from '../http/conditional.js'
import { httpError } from '../http/http-error.js'
import { keysetPage, type Page, type PageRequest } from '../pagination/pagination.js'
import type { TeamDatabase } from './database.js'
import { NewTeamSchema, type Team, type TeamRole } from './schemas.js'

export type MyTeam = Team & { role: TeamRole }

export const TEAM_SORTS = ['name', 'created_at']
const columns = 'id, name, created_at, updated_at'

export interface TeamStore {
  /** A new team, with its creator as its coach. */
  create: (coachId: string, name: string) => Promise<Team>
  /** The teams `userId` is a member of, with their role, a page at a time. */
  listMine: (userId: string, page: PageRequest) => Promise<Page<MyTeam>>
  get: (teamId: string) => Promise<Team | null>
  /** Applies a merge patch if `ifMatch` is current (412 otherwise). */
  update: (teamId: string, patch: unknown, ifMatch: string | undefined) => Promise<Team>
  /** Deletes the team with its players, members and invitations, if `ifMatch` is current. */
  remove: (teamId: string, ifMatch: string | undefined) => Promise<void>
}

export function teamStore ({ query, transaction }: TeamDatabase): TeamStore {
  /** The team, locked until the transaction ends: no change lands between a precondition check and the write. */
  async function locked (q: typeof query, teamId: string): Promise<Team> {
    const { rows } = await q<Team>(`SELECT ${columns} FROM teams WHERE id = $1 FOR UPDATE`, [teamId])
    // The access check found the team a moment ago: only a concurrent delete gets here.
    if (rows[0] === undefined) throw httpError(404, 'There is no team with this id')
    return rows[0]
  }

  return {
    async create (coachId, name) {
      const { rows } = await query<Team>(
        `WITH team AS (INSERT INTO teams (name) VALUES ($2) RETURNING ${columns}),
         coach AS (INSERT INTO team_members (team_id, user_id, role) SELECT id, $1, 'coach' FROM team)
         SELECT * FROM team`,
        [coachId, name]
      )
      return rows[0]
    },

    listMine (userId, page) {
      return keysetPage<MyTeam>(query, {
        columns: 't.id, t.name, t.created_at, t.updated_at, m.role',
        from: 'team_members m JOIN teams t ON t.id = m.team_id',
        where: 'm.user_id = $1',
        params: [userId],
        sorts: { name: { column: 't.name', type: 'text' }, created_at: { column: 't.created_at', type: 'timestamptz' } },
        id: { column: 't.id', type: 'uuid' }
      }, page)
    },

    async get (teamId) {
      const { rows } = await query<Team>(`SELECT ${columns} FROM teams WHERE id = $1`, [teamId])
      return rows[0] ?? null
    },

    update (teamId, patch, ifMatch) {
      return transaction(async (q) => {
        const current = await locked(q, teamId)
        checkIfMatch(ifMatch, current)
        const { name } = patchedResource(NewTeamSchema, { name: current.name }, patch)
        const { rows } = await q<Team>(`UPDATE teams SET name = $2, updated_at = now() WHERE id = $1 RETURNING ${columns}`, [teamId, name])
        return rows[0]
      })
    },

    remove (teamId, ifMatch) {
      return transaction(async (q) => {
        checkIfMatch(ifMatch, await locked(q, teamId))
        await q('DELETE FROM teams WHERE id = $1', [teamId])
      })
    }
  }
}
