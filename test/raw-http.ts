import net from 'node:net'

export interface RawResponse {
  statusCode: number
  headers: Record<string, string>
  body: string
}

/**
 * Writes `request` on a fresh connection exactly as given (so it may be broken HTTP) and reads
 * one response: until its declared length has arrived, or until the server closes the connection.
 * Rejects when the connection ends without a complete response.
 */
export function rawRequest (port: number, request: string | Buffer): Promise<RawResponse> {
  const bodyless = (typeof request === 'string' ? request : request.toString('latin1', 0, 5)).startsWith('HEAD ')
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    let received = Buffer.alloc(0)
    let settled = false
    let resetBy: Error | undefined
    const settle = (closed: boolean) => {
      if (settled) return
      const response = parseResponse(received, bodyless, closed)
      if (response === undefined && !closed) return
      settled = true
      socket.destroy()
      if (response !== undefined) resolve(response)
      else reject(new Error(`no complete response${resetBy === undefined ? '' : ` (${resetBy.message})`}: ${JSON.stringify(received.toString('latin1').slice(0, 200))}`))
    }
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk])
      settle(false)
    })
    // The server may reset the connection once it has answered (it does when it stops reading).
    socket.on('error', (error) => { resetBy = error })
    socket.on('close', () => settle(true))
    socket.write(request)
  })
}

function parseResponse (data: Buffer, bodyless: boolean, closed: boolean): RawResponse | undefined {
  const end = data.indexOf('\r\n\r\n')
  if (end === -1) return undefined
  const [statusLine, ...lines] = data.subarray(0, end).toString('latin1').split('\r\n')
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  const statusCode = Number(statusLine.split(' ')[1])
  let body = data.subarray(end + 4)
  if (bodyless || statusCode === 204 || statusCode === 304) {
    body = Buffer.alloc(0)
  } else if (headers['transfer-encoding'] === 'chunked') {
    const chunks = dechunk(body)
    if (chunks === undefined) return undefined
    body = chunks
  } else if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length'])
    if (body.length < length) return undefined
    body = body.subarray(0, length)
  } else if (!closed) {
    return undefined
  }
  return { statusCode, headers, body: body.toString('utf8') }
}

/** The body of a complete chunked encoding, or undefined while the last chunk has not arrived. */
function dechunk (data: Buffer): Buffer | undefined {
  const chunks: Buffer[] = []
  let offset = 0
  for (;;) {
    const lineEnd = data.indexOf('\r\n', offset)
    if (lineEnd === -1) return undefined
    const size = parseInt(data.subarray(offset, lineEnd).toString('latin1'), 16)
    if (size === 0) return Buffer.concat(chunks)
    if (data.length < lineEnd + 2 + size + 2) return undefined
    chunks.push(data.subarray(lineEnd + 2, lineEnd + 2 + size))
    offset = lineEnd + 2 + size + 2
  }
}
