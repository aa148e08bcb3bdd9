import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import { clientKey, clientNetworkKey } from '../../src/http/client-key.js'
import { emailKey } from '../../src/accounts/email-key.js'
import { httpError } from '../../src/http/http-error.js'
import { isConnectionFailure } from '../../src/database/availability.js'
import type { Query } from '../../src/database/availability.js'
import { countKey, deleteExpiredCounts, rateLimitCounts, type RateLimitCounts } from '../../src/rate-limits/counts.js'
import { rateLimitStore } from '../../src/rate-limits/store.js'

/** How often each instance deletes the counts whose window has ended. */
const SWEEP_EVERY_MS = 60_000

export interface PerClientLimitOptions {
  /** Names the limit's counts in the shared table: each limit needs its own. */
  name: string
  /** Requests each client may make in a minute (or give perHour). */
  perMinute?: number
  /** Requests each client may make in an hour. */
  perHour?: number
  /** What else the count is per, besides the client (a username, say). */
  per?: (request: FastifyRequest) => string
  /** What the client is: its address (IPv6 by /64) by default. Undefined: the limit does not apply. */
  client?: (request: FastifyRequest) => string | undefined
  /** Counts per `per` alone, whatever the client: one address's mails, from anywhere. */
  acrossClients?: boolean
  /** The 429's detail, which goes on with "; retry in N s". */
  refusal: string
}

/** A per-client limit's two steps, as preHandlers; each refuses with 429 and Retry-After. */
export interface PerClientLimit {
  /** Refuses the request if the client has no requests left, without counting it. */
  refuseIfSpent: preHandlerAsyncHookHandler
  /** Counts the request, and refuses it past the limit. */
  count: preHandlerAsyncHookHandler
}

declare module 'fastify' {
  interface FastifyInstance {
    /** A new limit of `perMinute` requests per client (and per `per`), with its own counts. */
    perClientLimit: (options: PerClientLimitOptions) => PerClientLimit
    /**
     * preHandler for the routes that hash or verify a password: PASSWORD_CHECKS_PER_MINUTE per client
     * IP (IPv6 by /64), and four times that per IPv6 /48.
     */
    limitPasswordChecks: preHandlerAsyncHookHandler
    /** The counts in the shared table, for limits that count something other than requests. */
    rateLimitCounts: RateLimitCounts
    /** preHandler for the routes that send a mail or take a mailed token: MAIL_REQUESTS_PER_MINUTE per client IP. */
    limitMailRequests: preHandlerAsyncHookHandler
    /**
     * preHandler for the routes that mail an address (the signed-in user's, else the body's `email`):
     * MAILS_PER_ADDRESS_PER_HOUR per address from all clients, counted whether or not it has an account.
     */
    limitMailsPerAddress: preHandlerAsyncHookHandler
    /** Attempts at the signed-in user's current password (password change, account deletion): LOGIN_ATTEMPTS_PER_MINUTE per client IP and account. */
    currentPasswordAttempts: PerClientLimit
    /** Deletes the counts whose window has ended (run every minute); the number deleted. */
    deleteExpiredRateLimits: () => Promise<number>
  }
}

/**
 * Per-client request limits, counted by @fastify/rate-limit, and the one every password-checking
 * route shares: each check costs an argon2 hash (19 MiB and tens of milliseconds of a libuv
 * thread), and the sign-in limit, being per username, does not stop a client that changes the
 * username every time. Routes list their limits as preHandlers, in the order they apply: a request
 * one limit refuses is not counted by the limits after it. A limit that should count only requests
 * a later limit lets through lists its two steps around it (`refuseIfSpent`, the later limit,
 * `count`). Counts live in PostgreSQL's `rate_limits` table, so every instance shares them and they
 * outlive a restart. While the database is unreachable a limit cannot be checked, and the request
 * gets the database's 503: sign-in and registration need the database anyway, so refusing
 * (failing closed) costs no request that could have succeeded, and never lets guesses through
 * uncounted.
 */
export default fp(async function rateLimits (fastify) {
  const { pg, databaseAvailability, log } = fastify
  const counts = rateLimitCounts(databaseAvailability.query)
  await fastify.register(rateLimit, { global: false, store: rateLimitStore(counts) })
  fastify.decorate('rateLimitCounts', counts)

  const unguarded: Query = (text, values) => pg.pool.query(text, values)
  let sweeping: Promise<number> | undefined
  fastify.decorate('deleteExpiredRateLimits', () => (sweeping ??= deleteExpiredCounts(unguarded).finally(() => { sweeping = undefined })))
  let sweeper: NodeJS.Timeout | undefined
  fastify.addHook('onReady', async () => {
    sweeper = setInterval(() => {
      // During an outage there is nothing to delete from: the availability checks say when it ends.
      if (!databaseAvailability.available) return
      fastify.deleteExpiredRateLimits().catch((error: unknown) => {
        if (isConnectionFailure(error)) return
        log.warn({ err: error }, 'deleting expired rate-limit counts failed; the next sweep tries again')
      })
    }, SWEEP_EVERY_MS).unref()
  })
  fastify.addHook('onClose', async () => clearInterval(sweeper))

  let warnedOfUntrustedProxy = false
  /**
   * Behind a proxy TRUST_PROXY does not list, every client has the proxy's address, and shares one
   * count: said once, as the operator can fix it.
   */
  function warnOfUntrustedProxy (request: FastifyRequest): void {
    if (warnedOfUntrustedProxy || (request.headers['x-forwarded-for'] ?? '') === '') return
    // request.ips (only there when TRUST_PROXY lists proxies) goes past the peer only if it is listed.
    if ((request.ips?.length ?? 0) > 1) return
    warnedOfUntrustedProxy = true
    request.log.warn({ peer: request.socket.remoteAddress }, 'X-Forwarded-For came from a peer TRUST_PROXY does not list: if it is your reverse proxy, ' +
      'list it in TRUST_PROXY, or every client behind it shares one count of sign-ins and registrations')
  }

  fastify.decorate('perClientLimit', ({ name, perMinute, perHour, per, client = clientKey, acrossClients = false, refusal }: PerClientLimitOptions): PerClientLimit => {
    const keyOf = (request: FastifyRequest) => {
      const perWhat = per === undefined ? [] : [per(request)]
      return acrossClients ? countKey(name, ...perWhat) : countKey(name, client(request) ?? '', ...perWhat)
    }
    const counter = fastify.createRateLimit({
      max: perMinute ?? perHour ?? 1,
      timeWindow: perMinute === undefined ? 3_600_000 : 60_000,
      keyGenerator: keyOf
    })
    const refuse = async (request: FastifyRequest, reply: FastifyReply, increment: boolean) => {
      if (!acrossClients && client(request) === undefined) return
      warnOfUntrustedProxy(request)
      const counted = await counter(request, { increment })
      if (counted.isAllowed || (increment ? !counted.isExceeded : counted.remaining > 0)) return
      reply.header('retry-after', counted.ttlInSeconds)
      throw httpError(429, `${refusal}; retry in ${counted.ttlInSeconds} s`)
    }
    return {
      refuseIfSpent: async (request, reply) => refuse(request, reply, false),
      count: async (request, reply) => refuse(request, reply, true)
    }
  })

  const perAddress = fastify.perClientLimit({
    name: 'password-checks',
    perMinute: fastify.config.PASSWORD_CHECKS_PER_MINUTE,
    refusal: 'Too many sign-ins and registrations from this address'
  })
  // A client holding a whole IPv6 /48 could take a new /64 for each request.
  const perNetwork = fastify.perClientLimit({
    name: 'password-checks-48',
    perMinute: fastify.config.PASSWORD_CHECKS_PER_MINUTE * 4,
    client: clientNetworkKey,
    refusal: 'Too many sign-ins and registrations from this network'
  })
  fastify.decorate('limitPasswordChecks', async function limitPasswordChecks (request, reply) {
    await perNetwork.count.call(this, request, reply)
    await perAddress.count.call(this, request, reply)
  })

  fastify.decorate('limitMailRequests', fastify.perClientLimit({
    name: 'mail-requests',
    perMinute: fastify.config.MAIL_REQUESTS_PER_MINUTE,
    refusal: 'Too many account mail requests from this address'
  }).count)

  // The refusal is the same for every address, so it tells nothing about which have accounts.
  fastify.decorate('limitMailsPerAddress', fastify.perClientLimit({
    name: 'mails-per-address',
    perHour: fastify.config.MAILS_PER_ADDRESS_PER_HOUR,
    // A signed-in route counts the user's own address, never one its body names; in the one normal
    // form accounts are looked up by.
    per: (request) => emailKey((request.user as { email: string } | null | undefined)?.email ?? (request.body as { email: string }).email),
    acrossClients: true,
    refusal: 'Too many mails asked for this email address'
  }).count)

  // Guessing the current password with a stolen access token is slowed like guessing it at sign-in.
  fastify.decorate('currentPasswordAttempts', fastify.perClientLimit({
    name: 'password-change',
    perMinute: fastify.config.LOGIN_ATTEMPTS_PER_MINUTE,
    per: (request) => request.user.id,
    refusal: 'Too many attempts at the current password of this account from this address'
  }))
}, { name: 'rate-limit', dependencies: ['config', 'database', 'database-availability', 'migrations'] })
