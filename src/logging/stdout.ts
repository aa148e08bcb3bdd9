import { within } from '../async/within.js'
import type { FastifyBaseLogger } from 'fastify'
import pino from 'pino'

/** pino's asynchronous destination (sonic-boom). */
type LogDestination = ReturnType<typeof pino.destination>

/** How much unwritten log output the server holds before it drops lines. */
const maxBufferedLogBytes = 16 * 1024 * 1024

/**
 * The server's stdout, written in batches of at least 4 KiB, and at least once a second, instead
 * of one write(2) per line, which with an access line per request is a system call per request.
 * pino writes out what is left when the process exits; a process killed
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
  if (!await within(flushed, timeoutMs, () => false)) stream.destroy()
}
