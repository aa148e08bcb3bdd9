import type { Query } from '../database/availability.js'

/** What the team stores need of the database: single statements, and work that is all or nothing. */
export interface TeamDatabase {
  query: Query
  /** Runs `work` in one transaction: committed if it resolves, rolled back if it throws. */
  transaction: <T>(work: (query: Query) => Promise<T>) => Promise<T>
}

/** The SQLSTATE of a unique violation, and the constraint it names. */
export function uniqueViolation (error: unknown): string | undefined {
  const { code, constraint } = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown, constraint?: unknown }
  return code === '23505' && typeof constraint === 'string' ? constraint : undefined
}
