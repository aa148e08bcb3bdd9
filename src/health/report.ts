import { Type, type Static } from '@sinclair/typebox'
import type { Pool } from 'pg'
import type { DatabaseCheck } from '../database/availability.js'
import { packageVersion } from '../project.js'

/** Health Check Response Format for HTTP APIs (draft-inadarei-api-health-check). */
export const HEALTH_MEDIA_TYPE = 'application/health+json'

const Status = Type.Union([Type.Literal('pass'), Type.Literal('warn'), Type.Literal('fail')], {
  description: 'pass and warn answer 200, fail answers 503'
})
type HealthStatus = Static<typeof Status>

const checkFields = {
  componentType: Type.Literal('datastore'),
  status: Status,
  time: Type.String({ format: 'date-time' })
}

export const LivenessReport = Type.Object({
  status: Status,
  version: Type.String(),
  output: Type.Optional(Type.String({ description: 'Why the check failed' }))
}, {
  examples: [{ status: 'pass', version: packageVersion }, { status: 'fail', version: packageVersion, output: 'shutting down' }]
})

export const ReadinessReport = Type.Object({
  status: Status,
  version: Type.String(),
  output: Type.Optional(Type.String({ description: 'The kind of failure; never a host, user or password' })),
  checks: Type.Optional(Type.Object({
    'postgres:responseTime': Type.Array(Type.Object({
      ...checkFields,
      observedValue: Type.Number({ description: 'Milliseconds `SELECT 1` took, or was waited for' }),
      observedUnit: Type.Literal('ms'),
      output: Type.Optional(Type.String())
    })),
    'postgres:connections': Type.Array(Type.Object({
      ...checkFields,
      observedValue: Type.Integer({ description: 'Open pooled connections' }),
      observedUnit: Type.Literal('connections'),
      total: Type.Integer(),
      idle: Type.Integer(),
      waiting: Type.Integer({ description: 'Callers waiting for a free connection' }),
      max: Type.Integer()
    }))
  }))
}, {
  examples: [{
    status: 'pass',
    version: packageVersion,
    checks: {
      'postgres:responseTime': [{ componentType: 'datastore', observedValue: 0.8, observedUnit: 'ms', status: 'pass', time: '2026-11-26T10:00:00.000Z' }],
      'postgres:connections': [{ componentType: 'datastore', observedValue: 3, observedUnit: 'connections', status: 'pass', time: '2026-11-26T10:00:00.000Z', total: 3, idle: 3, waiting: 0, max: 15 }]
    }
  }]
})

/** What both probes answer, with 503, once shutdown has begun. */
export const SHUTTING_DOWN_REPORT = { status: 'fail', version: packageVersion, output: 'shutting down' } as const

/**
 * Readiness answers for this instance alone. The database is shared by every instance, so its
 * failure is a warning: failing readiness would take all of them out of rotation at once, and
 * clients would lose the API's own 503 answers and the routes that do not need the database.
 * Callers waiting for a pooled connection are a warning too.
 */
export function readinessReport (check: DatabaseCheck, pool: Pool): Static<typeof ReadinessReport> {
  const poolStatus: HealthStatus = pool.waitingCount > 0 ? 'warn' : 'pass'
  const status: HealthStatus = check.ok ? poolStatus : 'warn'
  return {
    status,
    version: packageVersion,
    ...(check.failure === undefined ? {} : { output: check.failure }),
    checks: {
      'postgres:responseTime': [{
        componentType: 'datastore',
        observedValue: check.responseTimeMs,
        observedUnit: 'ms',
        status: check.ok ? 'pass' : 'fail',
        time: check.time,
        ...(check.failure === undefined ? {} : { output: check.failure })
      }],
      'postgres:connections': [{
        componentType: 'datastore',
        observedValue: pool.totalCount,
        observedUnit: 'connections',
        status: poolStatus,
        time: new Date().toISOString(),
        total: pool.totalCount,
        idle: pool.idleCount,
        waiting: pool.waitingCount,
        max: pool.options.max
      }]
    }
  }
}
