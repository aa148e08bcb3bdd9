import { LogController, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify'

/** pino options for the server: secrets are censored wherever they might be attached to a log line. */
export const loggerOptions = {
  level: process.env.LOG_LEVEL ?? 'info',
  redact: {
    paths: [
      'req.headers.authorization',
      'req.headers.cookie',
      'res.headers["set-cookie"]',
      'headers.authorization',
      'headers.cookie',
      '*.headers.authorization',
      '*.headers.cookie',
      'password',
      '*.password',
      'DATABASE_URL',
      '*.DATABASE_URL',
      'SECRET_KEY',
      '*.SECRET_KEY',
      'connectionString',
      '*.connectionString'
    ],
    censor: '[redacted]'
  }
} satisfies FastifyServerOptions['logger']

/**
 * One access-log line per request, written when it completes, instead of Fastify's two
 * ("incoming request" and "request completed"): logging is the largest per-request cost here.
 */
export class AccessLogController extends LogController {
  override incomingRequest (): void {}

  override requestCompleted (error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return
    const line = { method: request.method, url: request.url, statusCode: reply.statusCode, responseTime: reply.elapsedTime }
    if (error) reply.log.error({ ...line, err: error }, 'request errored')
    else reply.log.info(line, 'request completed')
  }
}
