import type { IncomingMessage, ServerResponse } from 'node:http'
import helmet, { type HelmetOptions } from 'helmet'

/** Content-Security-Policy directives by name. */
export type Directives = Record<string, string[]>

/** The API answers JSON only: its policy allows nothing at all, and no page may frame it. */
export const apiPolicy: Directives = {
  'default-src': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'none'"],
  'frame-ancestors': ["'none'"]
}

/**
 * The headers of every answer but the documentation pages: OWASP's REST Security Cheat Sheet set
 * for API responses. helmet's others (cross-origin, referrer, DNS prefetch, download and XSS-filter
 * policies) govern how a browser treats a document it renders, which no JSON answer is; each costs
 * every answer a header.
 */
export function apiHeaders (): Record<string, string> {
  const helmet = helmetHeaders(helmetOptions(apiPolicy))
  return {
    'content-security-policy': helmet['content-security-policy']!,
    'strict-transport-security': helmet['strict-transport-security']!,
    'x-content-type-options': helmet['x-content-type-options']!,
    'x-frame-options': helmet['x-frame-options']!,
    // Nothing the API answers is for a shared cache: accounts, tokens, health of this instant.
    'cache-control': 'no-store'
  }
}

export function helmetOptions (directives: Directives): HelmetOptions {
  return { contentSecurityPolicy: { useDefaults: false, directives }, frameguard: { action: 'deny' } }
}

/**
 * The headers helmet sets for these options. Its headers depend on its options alone, so they are
 * computed once per policy: @fastify/helmet runs helmet anew for every request, a large share of
 * what a small response costs.
 */
export function helmetHeaders (options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {}
  const recorder = {
    setHeader (name: string, value: string) { headers[name.toLowerCase()] = value },
    removeHeader (name: string) { delete headers[name.toLowerCase()] }
  }
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, () => {})
  return headers
}
