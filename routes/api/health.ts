import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { packageVersion } from '../../src/project.js'
import { HEALTH_MEDIA_TYPE, readinessReport } from '../../src/health-report.js'
import { RETRY_AFTER_SECONDS } from '../../plugins/load-shedding.js'

const Health = Type.Object({
  status: Type.Literal('healthy', { description: 'The API process answers' }),
  database: Type.Union([Type.Literal('connected'), Type.Literal('disconnected')], {
    description: '`connected` when `SELECT 1` succeeded on a pooled connection'
  })
}, {
  description: 'The API answers; whether the database did',
  examples: [{ status: 'healthy', database: 'connected' }, { status: 'healthy', database: 'disconnected' }]
})

const Status = Type.Union([Type.Literal('pass'), Type.Literal('warn'), Type.Literal('fail')], {
  description: 'pass and warn answer 200, fail answers 503'
})
const checkFields = {
  componentType: Type.Literal('datastore'),
  status: Status,
  time: Type.String({ format: 'date-time' })
}

const Liveness = Type.Object({
  status: Status,
  version: Type.String(),
  output: Type.Optional(Type.String({ description: 'Why the check failed' }))
}, {
  examples: [{ status: 'pass', version: packageVersion }, { status: 'fail', version: packageVersion, output: 'shutting down' }]
})

const Readiness = Type.Object({
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

const healthJson = <T>(schema: T, description: string) => ({ description, content: { [HEALTH_MEDIA_TYPE]: { schema } } })

const health: FastifyPluginAsyncTypebox = async (fastify) => {
  // Probes must see the state of this instant, never a cached answer. onSend, so it also covers
  // answers ended before the handler (load shedding's 503). A callback hook: an async one costs a
  // promise on every probe.
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    reply.header('cache-control', 'no-store')
    done(null, payload)
  })

  fastify.get('/health', {
    // Always 200, as the original API defined it: busy is not down.
    config: { pressureHandler: () => undefined },
    schema: {
      operationId: 'getHealth',
      tags: ['Health'],
      summary: 'API and database health',
      description: 'Runs `SELECT 1` on a pooled connection. Always 200: `database` says whether the query succeeded. Kept as the original API defined it; monitors should prefer /api/health/live and /api/health/ready.',
      response: { 200: Health }
    }
  }, async () => {
    const check = await fastify.checkDatabase()
    return { status: 'healthy' as const, database: check.ok ? 'connected' as const : 'disconnected' as const }
  })

  fastify.get('/health/live', {
    config: { pressureHandler: () => undefined },
    schema: {
      operationId: 'getLiveness',
      tags: ['Health'],
      summary: 'Liveness probe',
      description: 'Whether the process can serve, without touching the database: restart the instance when this fails. 503 once shutdown has begun.',
      response: { 200: healthJson(Liveness, 'The process serves'), 503: healthJson(Liveness, 'The process is shutting down') }
    }
  }, async (_request, reply) => {
    reply.type(HEALTH_MEDIA_TYPE)
    if (fastify.shutdown.begun) {
      return reply.code(503).header('retry-after', RETRY_AFTER_SECONDS).send({ status: 'fail', version: packageVersion, output: 'shutting down' })
    }
    return { status: 'pass' as const, version: packageVersion }
  })

  fastify.get('/health/ready', {
    schema: {
      operationId: 'getReadiness',
      tags: ['Health'],
      summary: 'Readiness probe',
      description: `Whether this instance should receive traffic: the database answered \`SELECT 1\` within the health timeout. 503 with Retry-After when it did not, or once shutdown has begun. Body in the ${HEALTH_MEDIA_TYPE} format.`,
      response: { 200: healthJson(Readiness, 'Ready (pass or warn)'), 503: healthJson(Readiness, 'Not ready (fail)') }
    }
  }, async (_request, reply) => {
    reply.type(HEALTH_MEDIA_TYPE)
    if (fastify.shutdown.begun) {
      return reply.code(503).header('retry-after', RETRY_AFTER_SECONDS).send({ status: 'fail', version: packageVersion, output: 'shutting down' })
    }
    const report = readinessReport(await fastify.checkDatabase(), fastify.pg.pool, packageVersion)
    if (report.status === 'fail') reply.code(503).header('retry-after', RETRY_AFTER_SECONDS)
    return report
  })
}

export default health
