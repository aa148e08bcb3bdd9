import { readdir } from 'node:fs/promises'
import path from 'node:path'
import type Postgrator from 'postgrator'
import type { ClientBase } from 'pg'
import { runtimeFilesRoot } from '../project.js'

/** NNN.do.name.sql moves the schema up to version NNN, NNN.undo.name.sql back below it. */
export const migrationsDir = path.join(runtimeFilesRoot, 'migrations')

/**
 * postgrator takes no lock of its own. Every run holds this transaction-level advisory lock, so a
 * second run (another instance starting, a deploy step) waits, then finds the work done.
 */
const MIGRATION_LOCK_KEY = 720_451_903_117

export interface SchemaVersion {
  /** The version the database is at: 0 before the first migration. */
  current: number
  /** The highest version in migrations/. */
  latest: number
}

export interface MigrationStep {
  version: number
  name: string
  action: 'do' | 'undo'
}

export interface MigrationRun extends SchemaVersion {
  /** The version before this run. */
  from: number
  /** What ran, in order; empty when the schema was already at the target. */
  steps: MigrationStep[]
}

/** postgrator, and the glob it reads migration files with, load only to migrate: never in a production server. */
async function migrator (client: ClientBase, dir: string): Promise<Postgrator> {
  const { default: Postgrator } = await import('postgrator')
  return new Postgrator({
    driver: 'pg',
    migrationPattern: path.join(dir, '*.sql'),
    execQuery: (query) => client.query(query)
  })
}

/** The table where postgrator records applied versions: its default, which migrator() keeps. */
const versionTable = 'schemaversion'

/** postgrator's file names: version, action, an optional name. */
const migrationFile = /^(\d+)\.(?:do|undo)(?:\..*)?\.sql$/

/**
 * Reads the schema version without changing anything, not even creating postgrator's table.
 * A production server does this at every start, so it is two plain queries and a directory
 * listing, where postgrator's own check queries information_schema and reads and hashes every file.
 */
export async function readSchemaVersion (client: ClientBase, dir = migrationsDir): Promise<SchemaVersion> {
  const { rows: [table] } = await client.query<{ exists: boolean }>('SELECT to_regclass($1) IS NOT NULL AS exists', [versionTable])
  let current = 0
  if (table.exists) {
    const { rows: [recorded] } = await client.query<{ version: string | null }>(`SELECT max(version) AS version FROM ${versionTable}`)
    current = Number(recorded.version ?? 0)
  }
  const versions = (await readdir(dir)).map((file) => Number(migrationFile.exec(file)?.[1] ?? 0))
  return { current, latest: Math.max(0, ...versions) }
}

/**
 * Moves the schema to `target` (the latest version when omitted), down included.
 * The whole run is one transaction, so a failing migration leaves the schema where it was;
 * PostgreSQL's DDL is transactional (a statement that cannot run in a transaction, such as
 * CREATE INDEX CONCURRENTLY, does not belong in these files).
 */
export async function migrate (client: ClientBase, target?: number, dir = migrationsDir): Promise<MigrationRun> {
  const postgrator = await migrator(client, dir)
  const files = await postgrator.getMigrations()
  // Without its undo file a version would be skipped on the way down and stay recorded as applied.
  const undoable = new Set(files.filter(({ action }) => action === 'undo').map(({ version }) => version))
  const irreversible = files.find(({ version, action }) => action === 'do' && !undoable.has(version))
  if (irreversible !== undefined) {
    throw new Error(`${describeStep(irreversible)} has no undo file: add ${describeStep({ ...irreversible, action: 'undo' })}.sql`)
  }
  const latest = await postgrator.getMaxVersion()
  if (target !== undefined && !(Number.isInteger(target) && target >= 0 && target <= latest)) {
    throw new Error(`cannot migrate to version ${target}: versions go from 0 to ${latest}`)
  }

  let running: MigrationStep | undefined
  postgrator.on('migration-started', ({ version, name, action }) => { running = { version, name, action } })

  await client.query('BEGIN')
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY])
    const from = await postgrator.getDatabaseVersion()
    const ran = await postgrator.migrate(String(target ?? latest))
    const current = await postgrator.getDatabaseVersion()
    await client.query('COMMIT')
    return { from, current, latest, steps: ran.map(({ version, name, action }) => ({ version, name, action })) }
  } catch (error) {
    // When the connection itself failed, ROLLBACK fails too; the server has rolled back already.
    await client.query('ROLLBACK').catch(() => {})
    const during = running === undefined ? '' : ` in ${describeStep(running)}`
    throw new Error(`migration failed${during}, nothing was changed: ${(error as Error).message}`, { cause: error })
  }
}

/** e.g. "001.do.create-users" */
export function describeStep ({ version, action, name }: MigrationStep): string {
  return `${String(version).padStart(3, '0')}.${action}.${name}`
}
