import fp from 'fastify-plugin'
import underPressure from '@fastify/under-pressure'
import { RETRY_AFTER_SECONDS } from '../../src/http/problem.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** @fastify/under-pressure reads it per route; returning undefined lets the request through. */
    pressureHandler?: () => undefined
  }
}

/**
 * When the event loop is saturated past the configured limits, requests get 503 with Retry-After
 * at once instead of queueing until they time out. A route opts out with
 * `config: { pressureHandler: () => undefined }` (liveness must not fail because the process is busy).
 */
export default fp(async function loadShedding (fastify) {
  const { LOAD_SHEDDING_MAX_EVENT_LOOP_DELAY_MS: maxDelay, LOAD_SHEDDING_MAX_EVENT_LOOP_UTILIZATION: maxUtilization } = fastify.config
  await fastify.register(underPressure, {
    maxEventLoopDelay: maxDelay,
    maxEventLoopUtilization: maxUtilization,
    // The default, 'cumulative', averages since start-up: a server up for a day would never shed.
    eventLoopUtilizationMode: 'interval',
    retryAfter: RETRY_AFTER_SECONDS
  })
}, { name: 'load-shedding', dependencies: ['config'] })
