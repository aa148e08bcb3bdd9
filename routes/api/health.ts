import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { preHandlerHookHandler } from 'fastify'
import { packageVersion } from '../../src/project.js'
import { HEALTH_MEDIA_TYPE, LivenessReport, ReadinessReport, SHUTTING_DOWN_REPORT, readinessReport } from '../../src/health/report.js'
import { RETRY_AFTER_SECONDS } from '../../src/http/problem.js'
import { errorResponses, loadShedding, malformedRequest, retryAfterHeader } from '../../src/http/error-responses.js'

const Health = Type.Object({
  status: Type.Literal('healthy', { description: 'The API process answers' }),
  database: Type.Union([Type.Literal('connected'), Type.Literal('disconnected')], {
    description: '`connected` when `SELECT 1` succeeded on a pooled connection'
  })
}, {
  description: 'The API answers; whether the database did',
  examples: [{ status: 'healthy', database: 'connected' }, { status: 'healthy', database: 'disconnected' }]
})

const healthJson = <T>(schema: T, description: string) => ({ description, content: { [HEALTH_MEDIA_TYPE]: { schema } } })

// A probe refused during shutdown, or a failing readiness check, says when to ask again.
const unavailable = <T>(schema: T, description: string) => ({ ...healthJson(schema, description), headers: retryAfterHeader })

const health: FastifyPluginAsyncTypebox = async (fastify) => {
  // Once shutdown has begun, both probes send traffic elsewhere. A callback hook: it runs on every probe, and an async one costs a promise each time.
  const refuseWhileShuttingDown: preHandlerHookHandler = (_request, reply, done) => {
    if (!fastify.shutdown.begun) return done()
    reply.code(503).type(HEALTH_MEDIA_TYPE).header('retry-after', RETRY_AFTER_SECONDS).send(SHUTTING_DOWN_REPORT)
  }

  // Monitors and load balancers ask every few seconds: only failed probes get an access line.
  fastify.get('/health', {
    // Always 200 whatever the database says: busy is not down.
    config: { pressureHandler: () => undefined, accessLog: 'failures' },
    schema: {
      operationId: 'getHealth',
      tags: ['Health'],
      summary: 'API and database health',
      description: 'Runs `SELECT 1` on a pooled connection. Always 200: `database` says whether the query succeeded. For probes, prefer /api/health/live and /api/health/ready, which answer 503 when they fail.',
      security: [],
      response: { 200: Health, ...errorResponses('/api/health', malformedRequest) }
    }
  }, async () => {
    const check = await fastify.checkDatabase()
    return { status: 'healthy' as const, database: check.ok ? 'connected' as const : 'disconnected' as const }
  })

  fastify.get('/health/live', {
    config: { pressureHandler: () => undefined, accessLog: 'failures' },
    preHandler: refuseWhileShuttingDown,
    schema: {
      operationId: 'getLiveness',
      tags: ['Health'],
      summary: 'Liveness probe',
      description: 'Whether the process can serve, without touching the database: restart the instance when this fails. 503 once shutdown has begun.',
      security: [],
      response: {
        200: healthJson(LivenessReport, 'The process serves'),
        503: unavailable(LivenessReport, 'The process is shutting down'),
        ...errorResponses('/api/health/live', malformedRequest)
      }
    }
  }, async (_request, reply) => {
    reply.type(HEALTH_MEDIA_TYPE)
    return { status: 'pass' as const, version: packageVersion }
  })

  fastify.get('/health/ready', {
    config: { accessLog: 'failures' },
    preHandler: refuseWhileShuttingDown,
    schema: {
      operationId: 'getReadiness',
      tags: ['Health'],
      summary: 'Readiness probe',
      description: `Whether this instance should receive traffic: 503 with Retry-After once shutdown has begun, or while the server sheds load. The database, which every instance shares, does not decide it: when \`SELECT 1\` fails or takes longer than the health timeout, the answer is 200 with status \`warn\` and the failure in \`checks\`, and routes that need the database answer 503 themselves. Body in the ${HEALTH_MEDIA_TYPE} format.`,
      security: [],
      response: {
        200: healthJson(ReadinessReport, 'Ready: pass, or warn while the database does not answer or callers wait for a pooled connection'),
        503: {
          ...unavailable(ReadinessReport, 'Not ready: shutting down (fail, as application/health+json), or the server sheds load (as a problem)'),
          content: { [HEALTH_MEDIA_TYPE]: { schema: ReadinessReport }, ...errorResponses('/api/health/ready', loadShedding)[503]?.content }
        },
        ...errorResponses('/api/health/ready', malformedRequest)
      }
    }
  }, async (_request, reply) => {
    reply.type(HEALTH_MEDIA_TYPE)
    const report = readinessReport(await fastify.checkDatabase(), fastify.pg.pool)
    fastify.metrics.probeOutcomes.inc({ outcome: report.status })
    return report
  })
}

export default health
