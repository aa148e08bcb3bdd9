import net from 'node:net'

export interface RawResponse {
  statusCode: number
  headers: Record<string, string>
  body: string
}

/**
 * Writes `request` on a fresh connection exactly as given (so it may be broken HTTP) and reads
 * one response until the server closes or the declared body has arrived.
 */
export function rawRequest (port: number, request: string | Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    let received = Buffer.alloc(0)
    let settled = false
    const finish = () => {
      if (settled) return
      const response = parseResponse(received)
      if (response === undefined) return
      settled = true
      socket.destroy()
      resolve(response)
    }
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk])
      finish()
    })
    // The server may reset the connection after answering (it does when the parser gave up).
    socket.on('error', () => {})
    socket.on('close', () => {
      finish()
      if (!settled) reject(new Error(`no complete response, got ${JSON.stringify(received.toString('latin1').slice(0, 200))}`))
    })
    socket.write(request)
  })
}

function parseResponse (data: Buffer): RawResponse | undefined {
  const end = data.indexOf('\r\n\r\n')
  if (end === -1) return undefined
  const [statusLine, ...lines] = data.subarray(0, end).toString('latin1').split('\r\n')
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  const length = Number(headers['content-length'] ?? 0)
  const body = data.subarray(end + 4)
  if (body.length < length) return undefined
  return { statusCode: Number(statusLine.split(' ')[1]), headers, body: body.subarray(0, length).toString('utf8') }
}
