import type { Query } from '../database/availability.js'

/**
 * The names of the teams `userId` is the last coach of while other members remain: deleting the
 * account would leave them without anyone to manage them, so it waits until none is left, as
 * leaving the team does.
 */
export async function teamsLeftWithoutCoach (query: Query, userId: string): Promise<string[]> {
  const { rows } = await query<{ name: string }>(
    `SELECT t.name FROM team_members m JOIN teams t ON t.id = m.team_id
     WHERE m.user_id = $1 AND m.role = 'coach'
       AND NOT EXISTS (SELECT 1 FROM team_members c WHERE c.team_id = m.team_id AND c.role = 'coach' AND c.user_id <> $1)
       AND EXISTS (SELECT 1 FROM team_members o WHERE o.team_id = m.team_id AND o.user_id <> $1)
     ORDER BY t.name, t.id`,
    [userId]
  )
  return rows.map(({ name }) => name)
}

/**
 * Deletes the teams whose only member is the user `$1` (their players, guardian links and
 * invitations with them): they belong to the account alone. A part of the account's deletion
 * statement, so it runs in the same transaction.
 */
export const DELETE_TEAMS_OF_ONE = `DELETE FROM teams WHERE id IN (
  SELECT m.team_id FROM team_members m WHERE m.user_id = $1
    AND NOT EXISTS (SELECT 1 FROM team_members o WHERE o.team_id = m.team_id AND o.user_id <> $1))`
