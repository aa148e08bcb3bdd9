import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify'
import pino, { type Bindings, type ChildLoggerOptions } from 'pino'

type LogMethod = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** 'failures': the route's answers below 400 write no access line (health probes, asked every few seconds). */
    accessLog?: 'failures'
  }
}

/**
 * A request's logger that becomes a pino child, carrying the request id, only when it is first
 * used. Fastify makes one per request, and pino runs a child's bindings through the redaction
 * paths as it is made: a measurable share of a request that never logs through it (the access
 * line has its own logger).
 */
class DeferredChildLogger implements FastifyBaseLogger {
  readonly #parent: FastifyBaseLogger
  readonly #bindings: Bindings
  readonly #options: ChildLoggerOptions
  #child: FastifyBaseLogger | undefined

  constructor (parent: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions) {
    this.#parent = parent
    this.#bindings = bindings
    this.#options = options
  }

  get level (): string { return this.#child?.level ?? this.#options.level ?? this.#parent.level }
  set level (level: string) { this.#logger().level = level }

  fatal (...args: unknown[]): void { this.#write('fatal', args) }
  error (...args: unknown[]): void { this.#write('error', args) }
  warn (...args: unknown[]): void { this.#write('warn', args) }
  info (...args: unknown[]): void { this.#write('info', args) }
  debug (...args: unknown[]): void { this.#write('debug', args) }
  trace (...args: unknown[]): void { this.#write('trace', args) }
  silent (): void {}

  child (bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#logger().child(bindings, options)
  }

  // The rest of pino's logger, for plugins that use more than the log methods.
  isLevelEnabled (level: string): boolean { return (this.#logger() as pino.Logger).isLevelEnabled(level) }
  bindings (): Bindings { return (this.#logger() as pino.Logger).bindings() }
  setBindings (bindings: Bindings): void { (this.#logger() as pino.Logger).setBindings(bindings) }
  flush (callback?: (error?: Error) => void): void { (this.#logger() as pino.Logger).flush(callback) }

  #write (method: LogMethod, args: unknown[]): void {
    const logger = this.#logger()
    Reflect.apply(logger[method], logger, args)
  }

  #logger (): FastifyBaseLogger {
    this.#child ??= this.#parent.child(this.#bindings, this.#options)
    return this.#child
  }
}

/** Fastify's `childLoggerFactory`: see DeferredChildLogger. */
export function deferredChildLogger (parent: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  return new DeferredChildLogger(parent, bindings, options)
}

/**
 * One access-log line per request, written when it completes, instead of Fastify's two
 * ("incoming request" and "request completed"): logging is the largest per-request cost here.
 * The line holds only the request id, method, URL, status and time, none of which the redaction
 * above covers, so it is written by a child logger without redaction: pino runs every field of a
 * line through the leading-wildcard paths, which cost more than formatting the line itself.
 * Error lines keep the request's logger and its redaction.
 */
export class AccessLogController extends LogController {
  readonly #accessLoggers = new WeakMap<FastifyBaseLogger, FastifyBaseLogger>()

  override incomingRequest (): void {}

  override requestCompleted (error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return
    if (!error && reply.statusCode < 400 && request.routeOptions.config.accessLog === 'failures') return
    // The access line follows the level of the request's logger ('silent' has no value: never).
    const line = { method: request.method, url: request.url, statusCode: reply.statusCode, responseTime: reply.elapsedTime }
    if (error) {
      reply.log.error({ ...line, err: error }, 'request errored')
    } else if ((pino.levels.values[reply.log.level] ?? Infinity) <= pino.levels.values.info) {
      this.#accessLogger(request.server.log).info({ [this.requestIdLogLabel]: request.id, ...line }, 'request completed')
    }
  }

  #accessLogger (parent: FastifyBaseLogger): FastifyBaseLogger {
    let logger = this.#accessLoggers.get(parent)
    if (logger === undefined) {
      logger = parent.child({}, { level: 'info', redact: [] })
      this.#accessLoggers.set(parent, logger)
    }
    return logger
  }
}
