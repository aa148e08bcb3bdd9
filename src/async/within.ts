import { setTimeout as sleep } from 'node:timers/promises'

/**
 * What `work` settles with, or what `onTimeout` gives (or throws) once `timeoutMs` have passed
 * first. `work` itself goes on; only the waiting stops. The timer never keeps the process alive
 * and is cleared as soon as either side wins.
 */
export async function within<T, U = T> (work: Promise<T>, timeoutMs: number, onTimeout: () => U): Promise<T | U> {
  const cancel = new AbortController()
  try {
    return await Promise.race([work, sleep(timeoutMs, undefined, { ref: false, signal: cancel.signal }).then(onTimeout)])
  } finally {
    cancel.abort()
  }
}
