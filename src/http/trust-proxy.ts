import proxyAddr from '@fastify/proxy-addr'
import ipaddr from 'ipaddr.js'

/** Fastify's `trustProxy`: whether the peer at `address`, `hop` steps from the server, is a trusted proxy. */
export type TrustProxy = false | ((address: string, hop: number) => boolean)

/**
 * The shortest prefix a listed range may have: this stops "trust everyone" written in parts
 * (0.0.0.0/1,128.0.0.0/1), not every range too wide to be safe. It cannot tell a proxy's range
 * from anyone else's, and proxies' own ranges are wide: 10.0.0.0/8, a CDN's published ranges
 * (Cloudflare's include a /13 and a /29), the name uniquelocal (fc00::/7).
 */
const shortestPrefix = { ipv4: 8, ipv6: 16 }

/**
 * Fastify's `trustProxy` from TRUST_PROXY: the reverse proxies whose X-Forwarded-For (and -Proto,
 * -Host) the API believes, as IP addresses, CIDR ranges or proxy-addr's names `loopback`,
 * `linklocal` and `uniquelocal`, separated by commas. Unset or empty trusts no one. Trusting every
 * peer (Fastify's `true`) is not offered: a client that reaches the server directly could then
 * choose its own address, and with it escape the per-IP sign-in limit. Read from process.env before
 * the config, like LOG_LEVEL: Fastify takes it when the server is made.
 */
export function trustProxyFrom (value: string | undefined): TrustProxy {
  const proxies = (value ?? '').split(',').map((entry) => entry.trim()).filter((entry) => entry !== '')
  if (proxies.length === 0) return false
  let trust: TrustProxy
  try {
    trust = proxyAddr.compile(proxies)
  } catch (error) {
    throw new Error(`TRUST_PROXY must list IP addresses, CIDR ranges, loopback, linklocal or uniquelocal, separated by commas (${(error as Error).message})`)
  }
  const tooWide = proxies.find((entry) => {
    const range = rangeOf(entry)
    return range !== undefined && range.prefix < shortestPrefix[range.kind]
  })
  if (tooWide !== undefined) {
    throw new Error(`TRUST_PROXY range "${tooWide}" is wider than /${shortestPrefix.ipv4} for IPv4 or /${shortestPrefix.ipv6} for IPv6: list only your proxies' addresses`)
  }
  return trust
}

/**
 * The kind and prefix length of a range proxy-addr has accepted (`address/length` or
 * `address/netmask`), an IPv4-mapped IPv6 range counted as the IPv4 range it is; undefined for a
 * single address or a name.
 */
function rangeOf (entry: string): { kind: 'ipv4' | 'ipv6', prefix: number } | undefined {
  const slash = entry.lastIndexOf('/')
  if (slash === -1) return undefined
  const address = ipaddr.parse(entry.slice(0, slash))
  const length = entry.slice(slash + 1)
  const prefix = /^\d+$/.test(length) ? Number(length) : ipaddr.parse(length).prefixLengthFromSubnetMask() ?? 0
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) return { kind: 'ipv4', prefix: prefix - 96 }
  return { kind: address.kind(), prefix }
}
