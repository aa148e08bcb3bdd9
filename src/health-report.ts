import type { Pool } from 'pg'
import type { DatabaseCheck } from '../plugins/database-check.js'

/** Health Check Response Format for HTTP APIs (draft-inadarei-api-health-check). */
export const HEALTH_MEDIA_TYPE = 'application/health+json'

export type HealthStatus = 'pass' | 'warn' | 'fail'

export interface ReadinessReport {
  status: HealthStatus
  version: string
  output?: string
  checks: {
    'postgres:responseTime': Array<{ componentType: 'datastore', observedValue: number, observedUnit: 'ms', status: HealthStatus, time: string, output?: string }>
    'postgres:connections': Array<{ componentType: 'datastore', observedValue: number, observedUnit: 'connections', status: HealthStatus, time: string, total: number, idle: number, waiting: number, max: number }>
  }
}

/** Ready means the database answered; callers waiting for a pooled connection make it a warning. */
export function readinessReport (check: DatabaseCheck, pool: Pool, version: string): ReadinessReport {
  const poolStatus: HealthStatus = pool.waitingCount > 0 ? 'warn' : 'pass'
  const status: HealthStatus = check.ok ? poolStatus : 'fail'
  return {
    status,
    version,
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
