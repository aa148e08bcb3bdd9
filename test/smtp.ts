import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { simpleParser, type ParsedMail } from 'mailparser'
import { SMTPServer } from 'smtp-server'
import { startTcpProxy } from './tcp-proxy.js'

/** The part of tap's Test this helper needs. */
interface TestContext {
  teardown: (fn: () => unknown) => void
}

/** A received mail, decoded, with the addresses it was delivered to. */
export interface ReceivedMail {
  to: string[]
  mail: ParsedMail
}

export interface TestSmtpServer {
  /** smtp:// with a user name and password that need percent-encoding, as SMTP_URL. */
  url: string
  /** The password in `url`, decoded: what must never appear in a log line. */
  password: string
  /** Every mail received so far. */
  received: ReceivedMail[]
  /** The next mail to `address` not yet taken; waits for it (up to `timeoutMs`, so only a hang fails there). */
  nextMail: (address: string, timeoutMs?: number) => Promise<ParsedMail>
  /** Stops the SMTP server: connections to its address are refused until `start()`. */
  stop: () => Promise<void>
  start: () => Promise<void>
}

const USER = 'mailer@example.com'
const PASSWORD = 'p@ss:w/rd#?%1'

/**
 * A real SMTP server (the nodemailer project's smtp-server) requiring a password, with mailparser
 * decoding what it receives. It listens on a Unix socket behind a TCP proxy on port 0 of 127.0.0.1:
 * the proxy keeps one port for the test's life, so the server can be stopped and started again at
 * the same address without another process taking it meanwhile.
 */
export async function startSmtpServer (t: TestContext): Promise<TestSmtpServer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'spinta-smtp-'))
  const socketPath = path.join(dir, 'smtp.sock')
  const received: ReceivedMail[] = []
  const taken = new Set<ReceivedMail>()
  const waiters = new Set<() => void>()

  let server: SMTPServer | undefined
  async function start (): Promise<void> {
    if (server !== undefined) return
    server = new SMTPServer({
      authOptional: false,
      allowInsecureAuth: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onAuth (auth, _session, callback) {
        if (auth.username === USER && auth.password === PASSWORD) callback(null, { user: USER })
        else callback(new Error('Invalid user name or password'))
      },
      onData (stream, session, callback) {
        simpleParser(stream).then((mail) => {
          received.push({ to: session.envelope.rcptTo.map(({ address }) => address), mail })
          for (const wake of waiters) wake()
          callback()
        }, callback)
      }
    })
    const listening = server
    await new Promise<void>((resolve, reject) => listening.server.once('error', reject).listen(socketPath, resolve))
  }

  async function stop (): Promise<void> {
    const closing = server
    server = undefined
    if (closing !== undefined) await new Promise<void>((resolve) => closing.close(() => resolve()))
  }

  await start()
  const proxy = await startTcpProxy(socketPath)
  t.teardown(async () => {
    await proxy.close()
    await stop()
    await rm(dir, { recursive: true, force: true })
  })

  return {
    url: `smtp://${encodeURIComponent(USER)}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${proxy.port}`,
    password: PASSWORD,
    received,
    async nextMail (address, timeoutMs = 20_000) {
      const take = () => {
        const found = received.find((item) => !taken.has(item) && item.to.includes(address))
        if (found !== undefined) taken.add(found)
        return found?.mail
      }
      const ready = take()
      if (ready !== undefined) return ready
      return new Promise<ParsedMail>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`no mail to ${address} within ${timeoutMs} ms`))
        }, timeoutMs)
        function check (): void {
          const mail = take()
          if (mail === undefined) return
          clearTimeout(timer)
          waiters.delete(check)
          resolve(mail)
        }
        waiters.add(check)
      })
    },
    stop,
    start
  }
}

/** The token of the first link in a mail's plain text. */
export function tokenIn (mail: ParsedMail): string {
  const token = /[?&]token=([\w-]+)/.exec(mail.text ?? '')?.[1]
  if (token === undefined) throw new Error(`no token link in the mail "${mail.subject}"`)
  return token
}
