import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify'
import { setTimeout as sleep } from 'node:timers/promises'
import pino, { type Bindings, type ChildLoggerOptions } from 'pino'

const logLevel = process.env.LOG_LEVEL ?? 'info'
const logLevels = [...Object.keys(pino.levels.values), 'silent']

/**
 * Why LOG_LEVEL cannot be used, when it cannot. It is read from process.env (`.env` included, by
 * src/env-file.ts) before the config, as the logger exists first, so it is checked here, and
 * src/serve.ts reports it like a config error.
 */
export const logLevelProblem = logLevels.includes(logLevel) ? undefined : `LOG_LEVEL must be one of ${logLevels.join(', ')}`

/** pino options for the server: secrets are censored at the top of a logged object or one level down. */
export const loggerOptions = {
  // src/serve.ts refuses to start on a bad LOG_LEVEL; 'info' keeps this module importable meanwhile.
  level: logLevelProblem === undefined ? logLevel : 'info',
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

/** pino's asynchronous destination (sonic-boom). */
type LogDestination = ReturnType<typeof pino.destination>

/** How much unwritten log output the server holds before it drops lines (README, "Log output"). */
const maxBufferedLogBytes = 16 * 1024 * 1024

/**
 * The server's stdout, written in batches of at least 4 KiB, and at least once a second, instead
 * of one write(2) per line, which with an access line per request is a system call per request
 * (README, "Performance"). pino writes out what is left when the process exits; a process killed
 * outright loses at most the last second of lines. If stdout stops taking lines (a stuck log
 * collector), the buffer stops at `maxBufferedLogBytes` and further lines are dropped: memory stays
 * bounded and requests are never held up by logging. `warnOfDroppedLines` reports the loss.
 */
export function bufferedStdout ({ fd = 1, maxBufferedBytes = maxBufferedLogBytes } = {}): LogDestination {
  return pino.destination({ dest: fd, sync: false, minLength: 4096, periodicFlush: 1000, maxLength: maxBufferedBytes })
}

/**
 * A warning with the number of lines the buffer dropped, once a second has passed without drops:
 * stdout is taking lines again, so the warning itself gets through.
 */
export function warnOfDroppedLines (stream: LogDestination, log: FastifyBaseLogger): void {
  let dropped = 0
  let droppedAtLastTick = 0
  stream.on('drop', () => { dropped++ })
  const timer = setInterval(() => {
    if (dropped === 0 || dropped !== droppedAtLastTick) {
      droppedAtLastTick = dropped
      return
    }
    log.warn({ droppedLines: dropped }, 'log lines dropped: stdout was not taking them as fast as they were written')
    dropped = 0
    droppedAtLastTick = 0
  }, 1000).unref()
  stream.once('close', () => clearInterval(timer))
}

/**
 * Writes out what is still buffered, waiting at most `timeoutMs`, then drops the rest. Without it
 * pino writes the rest synchronously as the process exits, and a stdout that takes nothing (a stuck
 * log collector) would keep the process from ever exiting.
 */
export async function flushLog (stream: LogDestination, timeoutMs: number): Promise<void> {
  const flushed = new Promise<boolean>((resolve) => { stream.flush(() => resolve(true)) })
  if (!await Promise.race([flushed, sleep(timeoutMs, false, { ref: false })])) stream.destroy()
}

type LogMethod = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'

/**
 * A request's logger that becomes a pino child, carrying the request id, only when it is first
 * used. Fastify makes one per request, and pino runs a child's bindings through the redaction
 * paths as it is made: about 6% of the CPU of a request to GET /, which never logs through it
 * (the access line has its own logger; README, "Performance").
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
 * line through the leading-wildcard paths, which cost more than formatting the line itself
 * (README, "Performance"). Error lines keep the request's logger and its redaction.
 */
export class AccessLogController extends LogController {
  readonly #accessLoggers = new WeakMap<FastifyBaseLogger, FastifyBaseLogger>()

  override incomingRequest (): void {}

  override requestCompleted (error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return
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
