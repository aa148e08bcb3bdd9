import { isIP } from 'node:net'
import { normalizeIP } from '@fastify/rate-limit'
import type { FastifyRequest } from 'fastify'

/**
 * What per-client limits count a request under: the client's IP address, which is the peer's, or
 * the one a proxy listed in TRUST_PROXY forwards. Some proxies forward the client's port too
 * (Azure Application Gateway sends `203.0.113.7:51234`): it is dropped, or every new connection
 * would start a new count. A forwarded value that is no address at all counts as the peer's
 * address (the nearest proxy's, which in a chain may not be the one that forwarded it).
 * IPv6 addresses are grouped by /64, as one host commonly holds a whole /64.
 */
export function clientKey (request: FastifyRequest): string {
  return normalizeIP(withoutPort(request.ip) ?? request.socket.remoteAddress ?? request.ip)
}

/** The IP address in `address`, `ip:port` or `[ipv6]:port`; undefined if it holds none. */
function withoutPort (address: string): string | undefined {
  if (isIP(address) !== 0) return address
  const host = /^\[([^\]]+)\]:\d+$/.exec(address)?.[1] ?? /^([^:]+):\d+$/.exec(address)?.[1]
  return host !== undefined && isIP(host) !== 0 ? host : undefined
}
