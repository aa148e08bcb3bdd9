import proxyAddr from '@fastify/proxy-addr'

/** Fastify's `trustProxy`: whether the peer at `address`, `hop` steps from the server, is a trusted proxy. */
export type TrustProxy = false | ((address: string, hop: number) => boolean)

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
  try {
    return proxyAddr.compile(proxies)
  } catch (error) {
    throw new Error(`TRUST_PROXY must list IP addresses, CIDR ranges, loopback, linklocal or uniquelocal, separated by commas (${(error as Error).message})`)
  }
}
