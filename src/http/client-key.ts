import { isIP } from 'node:net'
import { normalizeIP } from '@fastify/rate-limit'
import type { FastifyRequest } from 'fastify'

/**
 * What per-client limits count a request under: the client's IP address, which is the peer's, or
 * the one a proxy listed in TRUST_PROXY forwards. Some proxies forward the client's port too
 * (Azure Application Gateway sends `203.0.113.7:51234`): it is dropped, or every new connection
 * would start a new count. A forwarded value that is no address at all counts as the peer's
 * address (the nearest proxy's, which in a chain may not be the one that forwarded it).
 * IPv6 addresses are grouped by /64, as one host commonly holds a whole /64 (clientNetworkKey groups by /48).
 */
export function clientKey (request: FastifyRequest): string {
  return normalizeIP(clientIp(request))
}

/**
 * The IPv6 network a client's address is in, by /48 (a whole site is commonly given one, so a
 * client can change its /64 at will); undefined for IPv4 addresses, which clientKey counts alone.
 */
export function clientNetworkKey (request: FastifyRequest): string | undefined {
  const ip = clientIp(request)
  return isIP(ip) === 6 && !ip.toLowerCase().startsWith('::ffff:') ? normalizeIP(ip, 48) : undefined
}

/** The client's IP address as per-client limits read it, before any grouping. */
export function clientIp (request: FastifyRequest): string {
  return withoutPort(request.ip) ?? request.socket.remoteAddress ?? request.ip
}

/** The IP address in `address`, `ip:port` or `[ipv6]:port`; undefined if it holds none. */
function withoutPort (address: string): string | undefined {
  if (isIP(address) !== 0) return address
  const host = /^\[([^\]]+)\]:\d+$/.exec(address)?.[1] ?? /^([^:]+):\d+$/.exec(address)?.[1]
  return host !== undefined && isIP(host) !== 0 ? host : undefined
}
