import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

/** What an incoming X-Request-Id may be to be kept: short, and safe in headers, logs and JSON. */
const REQUEST_ID_PATTERN = /^[\w.:+/=-]{1,128}$/

/**
 * The request id: the caller's X-Request-Id when well formed (so a proxy's or client's id follows
 * the request into our logs), otherwise a new UUID. A header sent twice arrives joined with ", "
 * and is replaced.
 */
export function genReqId (req: IncomingMessage): string {
  const incoming = req.headers['x-request-id']
  return typeof incoming === 'string' && REQUEST_ID_PATTERN.test(incoming) ? incoming : randomUUID()
}
