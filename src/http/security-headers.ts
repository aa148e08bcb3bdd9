import type { IncomingMessage, ServerResponse } from 'node:http'
import helmet, { type HelmetOptions } from 'helmet'

/** Content-Security-Policy directives by name. */
export type Directives = Record<string, string[]>

/** The API answers JSON only: its policy allows nothing at all, and no page may frame it. */
const apiPolicy: Directives = {
  'default-src': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'none'"],
  'frame-ancestors': ["'none'"]
}

/**
 * helmet's full set of headers for a page with this policy. Its headers depend on its options
 * alone, so callers compute them once per policy: @fastify/helmet runs helmet anew for every
 * request, a large share of what a small response costs.
 */
export function pageHeaders (directives: Directives): Record<string, string> {
  const options: HelmetOptions = { contentSecurityPolicy: { useDefaults: false, directives }, frameguard: { action: 'deny' } }
  const headers: Record<string, string> = {}
  const recorder = {
    setHeader (name: string, value: string) { headers[name.toLowerCase()] = value },
    removeHeader (name: string) { delete headers[name.toLowerCase()] }
  }
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, () => {})
  return headers
}

const helmetApiHeaders = pageHeaders(apiPolicy)

/**
 * The headers of every answer but the documentation pages, errors of every kind included: OWASP's
 * REST Security Cheat Sheet set for API responses. helmet's others (cross-origin, referrer, DNS
 * prefetch, download and XSS-filter policies) govern how a browser treats a document it renders,
 * which no JSON answer is; each costs every answer a header.
 */
export const API_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': helmetApiHeaders['content-security-policy']!,
  'strict-transport-security': helmetApiHeaders['strict-transport-security']!,
  'x-content-type-options': helmetApiHeaders['x-content-type-options']!,
  'x-frame-options': helmetApiHeaders['x-frame-options']!,
  // Nothing the API answers is for a shared cache: accounts, tokens, health of this instant.
  'cache-control': 'no-store'
})
