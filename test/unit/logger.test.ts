import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import pino from 'pino'
import t from 'tap'
import { loggerOptions } from '../../src/logging/logger.js'
import { deferredChildLogger } from '../../src/logging/request-logging.js'
import { bufferedStdout, warnOfDroppedLines } from '../../src/logging/stdout.js'

interface LogLine { msg: string, n?: number, droppedLines?: number }

t.test('a log reader that stops reading: lines are dropped at the buffer limit, counted, and reported once it reads again', async (t) => {
  // A named pipe nobody reads yet: like a stuck log collector, it takes 64 KiB and then no more.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spinta-log-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const fifo = path.join(dir, 'stdout')
  execFileSync('mkfifo', [fifo])
  const readFd = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK)
  const writeFd = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK)

  const maxBufferedBytes = 64 * 1024
  const stream = bufferedStdout({ fd: writeFd, maxBufferedBytes })
  // Destroying the stream closes writeFd too.
  t.teardown(() => { stream.destroy() })
  const log = pino(loggerOptions, stream)
  warnOfDroppedLines(stream, log)
  let dropped = 0
  let droppedRequestLines = 0
  stream.on('drop', (line: string) => {
    dropped++
    if (line.includes('a request completed')) droppedRequestLines++
  })

  // About 1 MB of lines, written without waiting: none of them may block the writer.
  const written = 10_000
  for (let n = 0; n < written; n++) log.info({ n }, 'a request completed')
  t.ok(dropped > 0, `lines beyond the ${maxBufferedBytes}-byte buffer are dropped (${dropped} of ${written})`)
  t.ok(dropped < written, 'the lines that fit are kept')
  if (dropped === 0) {
    fs.closeSync(readFd)
    return
  }

  // The collector recovers: read everything until the warnings account for every dropped line.
  const reader = new net.Socket({ fd: readFd, readable: true, writable: false })
  t.teardown(() => { reader.destroy() })
  const lines: LogLine[] = []
  let pending = ''
  let reported = 0
  for await (const chunk of reader) {
    pending += String(chunk)
    const complete = pending.split('\n')
    pending = complete.pop() ?? ''
    for (const line of complete) {
      const parsed = JSON.parse(line) as LogLine
      lines.push(parsed)
      reported += parsed.droppedLines ?? 0
    }
    if (reported > 0 && reported === dropped) break
  }

  const kept = lines.filter((line) => line.n !== undefined).map((line) => line.n)
  const warnings = lines.filter((line) => line.droppedLines !== undefined)
  t.ok(warnings.length > 0, 'a warning says lines were dropped')
  t.match(warnings[0], { level: 40, msg: /log lines dropped/ })
  t.same(kept, [...kept].sort((a, b) => (a ?? 0) - (b ?? 0)), 'the lines that got through are whole and in order')
  t.equal(kept[0], 0, 'the oldest lines are the ones kept')
  t.equal(droppedRequestLines, written - kept.length, 'every line that did not arrive was counted as dropped')
  t.equal(reported, dropped, 'the warnings add up to every dropped line')
})

t.test("a request's deferred logger answers as the pino child it stands for", async (t) => {
  const lines: string[] = []
  const parent = pino({ ...loggerOptions, level: 'info' }, { write: (line: string) => { lines.push(line) } })
  const logger = deferredChildLogger(parent, { requestId: 'r-1' }, {}) as pino.Logger
  t.equal(logger.level, 'info')
  t.equal(logger.isLevelEnabled('debug'), false)
  t.equal(logger.isLevelEnabled('warn'), true)
  t.same(logger.bindings(), { requestId: 'r-1' })
  logger.setBindings({ user: 'u-1' })
  logger.info({ password: 'not-for-the-log' }, 'hello')
  logger.flush()
  t.match(JSON.parse(lines[0] ?? '{}'), { requestId: 'r-1', user: 'u-1', password: '[redacted]', msg: 'hello' })
})
