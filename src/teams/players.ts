import type { Query } from '../database/availability.js'
import { checkIfMatch, patchedResource } from '../http/conditional.js'
import { httpError } from '../http/http-error.js'
import { keysetPage, type ListSpec, type Page, type PageRequest } from '../pagination/pagination.js'
import { recordAudit } from './audit.js'
import { uniqueViolation, type TeamDatabase } from './database.js'
import { NewPlayerSchema, type NewPlayer, type Player, type RosterEntry } from './schemas.js'

export const PLAYER_SORTS = ['display_name', 'created_at']
const columns = 'id, team_id, display_name, birth_year, position, shirt_number, notes, created_at, updated_at'
const editable = ['display_name', 'birth_year', 'position', 'shirt_number', 'notes'] as const

export interface PlayerFilters {
  position?: string
}

/** Who acts, in which team: every change and every audited read names them. */
export interface Actor {
  teamId: string
  userId: string
}

export interface PlayerStore {
  create: (actor: Actor, player: NewPlayer) => Promise<Player>
  /** The roster, a page at a time. */
  list: (teamId: string, page: PageRequest, filters: PlayerFilters) => Promise<Page<RosterEntry>>
  /** A player's details; with `audited`, the read is recorded in the same transaction. */
  get: (actor: Actor, playerId: string, audited: boolean) => Promise<Player | null>
  update: (actor: Actor, playerId: string, patch: unknown, ifMatch: string | undefined) => Promise<Player>
  remove: (actor: Actor, playerId: string, ifMatch: string | undefined) => Promise<void>
}

/** 409 for a shirt number another player of the team wears; any other error as it is. */
function shirtNumberTaken (error: unknown, shirtNumber: unknown): unknown {
  return uniqueViolation(error) === 'players_team_shirt_number_key'
    ? httpError(409, `Shirt number ${String(shirtNumber)} is already worn by another player of this team`)
    : error
}

function editableOf (player: Player): Record<string, unknown> {
  // Absent rather than null: merge-patch `null` and a missing optional member mean the same.
  return Object.fromEntries(editable.filter((name) => player[name] !== null).map((name) => [name, player[name]]))
}

/** How the roster is read: one index per sort key, (team_id, key, id). */
export function rosterList (teamId: string, { position }: PlayerFilters): ListSpec {
  const params: unknown[] = [teamId]
  return {
    columns: 'id, display_name, position, shirt_number, created_at',
    from: 'players',
    where: position === undefined ? 'team_id = $1' : `team_id = $1 AND position = $${params.push(position)}`,
    params,
    sorts: { display_name: { column: 'display_name', type: 'text' }, created_at: { column: 'created_at', type: 'timestamptz' } },
    id: { column: 'players.id', type: 'uuid' }
  }
}

export function playerStore ({ query, transaction }: TeamDatabase): PlayerStore {
  async function locked (q: Query, { teamId }: Actor, playerId: string): Promise<Player> {
    const { rows } = await q<Player>(`SELECT ${columns} FROM players WHERE id = $1 AND team_id = $2 FOR UPDATE`, [playerId, teamId])
    // The access check found the player a moment ago: only a concurrent delete gets here.
    if (rows[0] === undefined) throw httpError(404, 'There is no player with this id in this team')
    return rows[0]
  }

  return {
    async create (actor, player) {
      try {
        return await transaction(async (q) => {
          const { rows } = await q<Player>(
            `INSERT INTO players (team_id, display_name, birth_year, position, shirt_number, notes)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${columns}`,
            [actor.teamId, player.display_name, player.birth_year, player.position, player.shirt_number ?? null, player.notes ?? null]
          )
          await recordAudit(q, { teamId: actor.teamId, actorId: actor.userId, action: 'player.create', subjectId: rows[0].id, fields: Object.keys(player).sort() })
          return rows[0]
        })
      } catch (error) {
        throw shirtNumberTaken(error, player.shirt_number)
      }
    },

    list (teamId, page, filters) {
      return keysetPage<RosterEntry>(query, rosterList(teamId, filters), page)
    },

    async get (actor, playerId, audited) {
      const read = async (q: Query) => {
        const { rows } = await q<Player>(`SELECT ${columns} FROM players WHERE id = $1 AND team_id = $2`, [playerId, actor.teamId])
        if (rows[0] !== undefined && audited) await recordAudit(q, { teamId: actor.teamId, actorId: actor.userId, action: 'player.read', subjectId: playerId })
        return rows[0] ?? null
      }
      return audited ? transaction(read) : read(query)
    },

    async update (actor, playerId, patch, ifMatch) {
      let shirtNumber: unknown
      try {
        return await transaction(async (q) => {
          const current = await locked(q, actor, playerId)
          checkIfMatch(ifMatch, current)
          const next = patchedResource(NewPlayerSchema, editableOf(current), patch)
          shirtNumber = next.shirt_number
          const changed = editable.filter((name) => (next[name] ?? null) !== current[name])
          const { rows } = await q<Player>(
            `UPDATE players SET display_name = $3, birth_year = $4, position = $5, shirt_number = $6, notes = $7, updated_at = now()
             WHERE id = $1 AND team_id = $2 RETURNING ${columns}`,
            [playerId, actor.teamId, next.display_name, next.birth_year, next.position, next.shirt_number ?? null, next.notes ?? null]
          )
          await recordAudit(q, { teamId: actor.teamId, actorId: actor.userId, action: 'player.update', subjectId: playerId, fields: [...changed] })
          return rows[0]
        })
      } catch (error) {
        throw shirtNumberTaken(error, shirtNumber)
      }
    },

    remove (actor, playerId, ifMatch) {
      return transaction(async (q) => {
        checkIfMatch(ifMatch, await locked(q, actor, playerId))
        await q('DELETE FROM players WHERE id = $1', [playerId])
        await recordAudit(q, { teamId: actor.teamId, actorId: actor.userId, action: 'player.delete', subjectId: playerId })
      })
    }
  }
}
