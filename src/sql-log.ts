import pg from 'pg'
import type { FastifyBaseLogger } from 'fastify'

/**
 * A pg Client that logs each statement's text and duration (the seed's SQLAlchemy `echo`).
 * Parameter values are never logged: they may be passwords or personal data.
 */
export function statementLoggingClient (log: FastifyBaseLogger): typeof pg.Client {
  return class StatementLoggingClient extends pg.Client {
    // pg's overloads cannot be restated one by one here; the arguments are passed through untouched.
    override query (...args: any[]): any {
      const text: unknown = typeof args[0] === 'string' ? args[0] : args[0]?.text
      const started = performance.now()
      const logged = (error?: Error | null) => {
        log.debug({ sql: text, durationMs: Number((performance.now() - started).toFixed(3)), failed: error ? true : undefined }, 'sql')
      }
      const callbackIndex = args.findIndex((arg) => typeof arg === 'function')
      if (callbackIndex !== -1) {
        const callback = args[callbackIndex]
        args[callbackIndex] = (error: Error | null, result: unknown) => {
          logged(error)
          callback(error, result)
        }
        return (super.query as (...a: any[]) => any)(...args)
      }
      const result = (super.query as (...a: any[]) => any)(...args)
      if (typeof result?.then === 'function') result.then(() => logged(), logged)
      return result
    }
  }
}
