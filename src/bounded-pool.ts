import pg from 'pg'

/**
 * pg with a Pool whose end() gives up after `timeoutMs`: ending a pool can hang for good, e.g. on
 * a connection whose server vanished (pg issue 2648), and shutdown must not wait for it.
 * Handed to @fastify/postgres through its `pg` option, so its own onClose stays in charge.
 */
export function pgWithBoundedEnd (timeoutMs: number, onGiveUp: () => void): typeof pg {
  class BoundedEndPool extends pg.Pool {
    override end (): Promise<void>
    override end (callback: () => void): void
    override end (callback?: () => void): Promise<void> | undefined {
      let timer: NodeJS.Timeout | undefined
      const gaveUp = new Promise<void>((resolve) => {
        timer = setTimeout(() => { onGiveUp(); resolve() }, timeoutMs).unref()
      })
      const ended = Promise.race([super.end(), gaveUp]).finally(() => clearTimeout(timer))
      if (callback === undefined) return ended
      ended.then(() => callback(), () => callback())
      return undefined
    }
  }
  return { ...pg, Pool: BoundedEndPool }
}
