import { randomBytes } from 'node:crypto'
import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import { emailKey } from '../../src/accounts/email-key.js'
import { clientKey } from '../../src/http/client-key.js'
import { httpError } from '../../src/http/http-error.js'
import { accountCountKey } from '../../src/rate-limits/counts.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The account a sign-in names: its username in the one normal form the lookup uses too. */
    signInKey: (request: FastifyRequest) => string
    /**
     * preHandler of the password grant: ACCOUNT_LOGIN_ATTEMPTS_PER_HOUR attempts per account from
     * clients new to it, whatever their address; a client that signed in to it before has its own.
     */
    limitAccountAttempts: preHandlerAsyncHookHandler
    /** Remembers that this client signed in to the account: it gets its own allowance from now on. */
    signedIn: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
  }
}

/** The device cookie: a random id, signed, sent only to the token endpoint. */
export const DEVICE_COOKIE = 'spinta_device'
/** How long a client that signed in stays known to the account (its cookie and its address). */
const KNOWN_FOR_MS = 30 * 24 * 60 * 60 * 1000
const HOUR_MS = 60 * 60 * 1000

/**
 * Guessing limits per account (OWASP ASVS 5.0 V6.3, NIST SP 800-63B-4 §3.2.2): however many
 * addresses an attacker uses, one account takes ACCOUNT_LOGIN_ATTEMPTS_PER_HOUR attempts an hour
 * from clients new to it. A client that signed in to the account before (its signed device cookie,
 * or the address it signed in from, within 30 days) counts apart, so an attack on the account does
 * not lock its owner out. Counts live in the shared `rate_limits` table, like every other limit.
 */
export default fp(async function signInLimits (fastify) {
  const { rateLimitCounts: counts, config } = fastify
  const perHour = config.ACCOUNT_LOGIN_ATTEMPTS_PER_HOUR

  fastify.decorate('signInKey', (request: FastifyRequest) => emailKey(String((request.body as { username?: unknown }).username ?? '')))

  /** The device id the request's signed cookie holds, if it holds a valid one. */
  function deviceOf (request: FastifyRequest): string | undefined {
    const header = request.headers.cookie
    const raw = header === undefined ? undefined : fastify.parseCookie(header)[DEVICE_COOKIE]
    if (raw === undefined) return undefined
    const unsigned = request.unsignCookie(raw)
    return unsigned.valid && unsigned.value !== null && /^[\w-]{22}$/.test(unsigned.value) ? unsigned.value : undefined
  }

  const knownKeys = (account: string, request: FastifyRequest) => {
    const device = deviceOf(request)
    return {
      device: device === undefined ? undefined : accountCountKey('known-device', account, device),
      address: accountCountKey('known-address', account, clientKey(request))
    }
  }

  fastify.decorate('limitAccountAttempts', async function limitAccountAttempts (request: FastifyRequest, reply: FastifyReply) {
    const account = fastify.signInKey(request)
    const known = knownKeys(account, request)
    // A known device counts under its own key, else a known address under its own; every other
    // client shares the account's one count.
    let key = accountCountKey('account', account)
    if (known.device !== undefined && await counts.anyOpen([known.device])) key = accountCountKey('account-device', account, known.device)
    else if (await counts.anyOpen([known.address])) key = accountCountKey('account-address', account, known.address)
    const { current, ttl } = await counts.increment(key, HOUR_MS)
    if (current <= perHour) return
    const seconds = Math.max(1, Math.ceil(ttl / 1000))
    reply.header('retry-after', seconds)
    throw httpError(429, `Too many sign-in attempts for this account; retry in ${seconds} s`)
  })

  fastify.decorate('signedIn', async function signedIn (request: FastifyRequest, reply: FastifyReply) {
    const account = fastify.signInKey(request)
    let device = deviceOf(request)
    if (device === undefined) {
      device = randomBytes(16).toString('base64url')
      reply.setCookie(DEVICE_COOKIE, device, {
        signed: true, httpOnly: true, secure: true, sameSite: 'strict', path: '/api/auth/token', maxAge: KNOWN_FOR_MS / 1000
      })
    }
    await counts.increment(accountCountKey('known-device', account, device), KNOWN_FOR_MS)
    await counts.increment(accountCountKey('known-address', account, clientKey(request)), KNOWN_FOR_MS)
  })
}, { name: 'sign-in-limits', dependencies: ['config', 'cookie', 'rate-limit'] })
