import type { Query } from '../database/availability.js'
import { keysetPage, type Page, type PageRequest } from '../pagination/pagination.js'
import type { AuditEntry } from './schemas.js'

export type AuditAction = 'player.create' | 'player.update' | 'player.delete' | 'player.read'

export interface AuditRecord {
  teamId: string
  actorId: string
  action: AuditAction
  subjectId: string
  fields?: string[]
}

/** Appends one entry; called inside the transaction of the change it records, so both happen or neither. */
export async function recordAudit (query: Query, { teamId, actorId, action, subjectId, fields = [] }: AuditRecord): Promise<void> {
  await query('INSERT INTO team_audit (team_id, actor_id, action, subject_id, fields) VALUES ($1, $2, $3, $4, $5)',
    [teamId, actorId, action, subjectId, fields])
}

export const AUDIT_SORTS = ['at']
export const auditColumns = 'a.id::text AS id, a.actor_id, a.action, a.subject_id, a.fields, a.at'

/** A team's audit entries, a page at a time. */
export function auditPage (query: Query, teamId: string, page: PageRequest): Promise<Page<AuditEntry>> {
  return keysetPage<AuditEntry>(query, {
    columns: auditColumns,
    from: 'team_audit a',
    where: 'a.team_id = $1',
    params: [teamId],
    sorts: { at: { column: 'a.at', type: 'timestamptz' } },
    id: { column: 'a.id', type: 'bigint' }
  }, page)
}
