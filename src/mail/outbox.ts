import type { FastifyBaseLogger } from 'fastify'
import { isConnectionFailure, type Query } from '../database/availability.js'
import type { Mail, MailTransport } from './transport.js'

/** A mail to queue; `userId` names the account it is about, so it goes with the account and into its export. */
export interface MailMessage extends Mail {
  userId?: string
}

export interface Outbox {
  /**
   * Stores the mail for delivery and returns: delivery happens in the background, and is retried
   * until the SMTP server takes it. `query` runs the insert in a caller's transaction.
   */
  send: (message: MailMessage, query?: Query) => Promise<void>
  /** Looks for due mail now: after the commit of a transaction that queued some. */
  wake: () => void
  /** Starts delivering: due mail now, then whenever mail is queued or a retry falls due. */
  start: () => void
  /** Stops delivering and waits for deliveries in progress. */
  close: () => Promise<void>
}

export interface OutboxOptions {
  query: Query
  transport: MailTransport
  log: FastifyBaseLogger
  /** Wait before the first retry, doubled for each one after it. */
  retryMinMs: number
  /** Longest wait between retries, and between looks for mail other instances queued. */
  retryMaxMs: number
  /** Whether the database can be reached: while it cannot, rounds are skipped. */
  available: () => boolean
}

/** Mails one instance claims at once. */
const BATCH = 10
/** A claimed mail is another instance's to try once this has passed: longer than an SMTP attempt can take. */
const LEASE_MS = 120_000
/** Mail not delivered within a day is dropped: the links it carries have expired by then. */
const GIVE_UP_AFTER_HOURS = 24

interface Claimed {
  id: string
  recipient: string
  subject: string
  text_body: string
  html_body: string
  attempts: number
  stale: boolean
}

/**
 * Mail in the `mail_outbox` table, delivered by every instance in the background. A row is claimed
 * with FOR UPDATE SKIP LOCKED (each row goes to one instance) and a lease, delivered, then deleted;
 * a failed attempt is retried after a wait that doubles up to `retryMaxMs`. An instance that dies
 * mid-delivery leaves its rows to be claimed again when the lease ends, so a mail may, rarely, be
 * delivered twice, but never lost.
 */
export function outbox ({ query, transport, log, retryMinMs, retryMaxMs, available }: OutboxOptions): Outbox {
  let running: Promise<void> | undefined
  let again = false
  let timer: NodeJS.Timeout | undefined
  let started = false
  let closed = false

  const backoffMs = (attempts: number) => Math.min(retryMaxMs, retryMinMs * 2 ** Math.min(attempts - 1, 30))

  async function deliver (mail: Claimed): Promise<void> {
    try {
      await transport.deliver({ to: mail.recipient, subject: mail.subject, text: mail.text_body, html: mail.html_body })
    } catch (error) {
      // The error's code and SMTP response say why; the mail's content and the SMTP URL are never logged.
      const { code, responseCode, command } = error as { code?: string, responseCode?: number, command?: string }
      const reason = { code, responseCode, command, message: (error as Error).message }
      if (mail.stale) {
        await query('DELETE FROM mail_outbox WHERE id = $1', [mail.id])
        log.error({ mailId: mail.id, attempts: mail.attempts, reason }, `mail not delivered within ${GIVE_UP_AFTER_HOURS} hours: dropped`)
        return
      }
      const retryInMs = backoffMs(mail.attempts)
      await query("UPDATE mail_outbox SET next_attempt_at = now() + $2 * interval '1 millisecond' WHERE id = $1", [mail.id, retryInMs])
      log.warn({ mailId: mail.id, attempts: mail.attempts, retryInMs, reason }, 'mail delivery failed: it will be retried')
      return
    }
    await query('DELETE FROM mail_outbox WHERE id = $1', [mail.id])
    log.info({ mailId: mail.id, attempts: mail.attempts }, 'mail delivered')
  }

  /** Delivers every due mail, then sleeps until the next one falls due (or retryMaxMs). */
  async function round (): Promise<void> {
    let waitMs = retryMaxMs
    try {
      for (;;) {
        again = false
        const { rows } = await query<Claimed>(
          `UPDATE mail_outbox SET attempts = attempts + 1, next_attempt_at = now() + $2 * interval '1 millisecond'
           WHERE id IN (SELECT id FROM mail_outbox WHERE next_attempt_at <= now() ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
           RETURNING id, recipient, subject, text_body, html_body, attempts, created_at <= now() - make_interval(hours => $3) AS stale`,
          [BATCH, LEASE_MS, GIVE_UP_AFTER_HOURS]
        )
        await Promise.all(rows.map(deliver))
        if (rows.length < BATCH && !again) break
      }
      const { rows: [next] } = await query<{ wait_ms: number | null }>(
        'SELECT ceil(extract(epoch FROM min(next_attempt_at) - now()) * 1000)::integer AS wait_ms FROM mail_outbox', [])
      // At least retryMinMs: a row another instance is claiming right now must not make this one spin.
      if (next.wait_ms !== null) waitMs = Math.min(Math.max(next.wait_ms, retryMinMs), retryMaxMs)
    } catch (error) {
      if (isConnectionFailure(error) || (error as { statusCode?: number }).statusCode === 503) log.debug('mail delivery waits for the database')
      else log.warn({ err: error }, 'mail delivery round failed: it is tried again')
    }
    schedule(waitMs)
  }

  function schedule (delayMs: number): void {
    clearTimeout(timer)
    if (!closed) timer = setTimeout(wake, delayMs).unref()
  }

  function wake (): void {
    if (closed || !started) return
    if (running !== undefined) {
      again = true
      return
    }
    if (!available()) {
      schedule(retryMinMs)
      return
    }
    running = round().finally(() => {
      running = undefined
      if (again) wake()
    })
  }

  return {
    async send ({ to, subject, text, html, userId }, sendQuery = query) {
      await sendQuery(
        'INSERT INTO mail_outbox (user_id, recipient, subject, text_body, html_body) VALUES ($1, $2, $3, $4, $5)',
        [userId ?? null, to, subject, text, html]
      )
      // In a caller's transaction the row is not visible yet: the caller wakes delivery after commit.
      if (sendQuery === query) wake()
    },
    wake,
    start () {
      started = true
      wake()
    },
    async close () {
      closed = true
      clearTimeout(timer)
      await running
      transport.close()
    }
  }
}
