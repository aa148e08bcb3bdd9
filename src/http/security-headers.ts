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
