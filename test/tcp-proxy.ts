import { createServer, connect, type Server, type Socket } from 'node:net'

/**
 * A TCP proxy in front of the test database that the test can break on purpose:
 * `refuse()` closes the port, `blackhole()` accepts connections and never answers, `forward()` heals.
 */
export interface TcpProxy {
  port: number
  /** The database URL with the proxy's port in place of the database's. */
  url: (databaseUrl: string) => string
  forward: () => Promise<void>
  blackhole: () => void
  refuse: () => Promise<void>
  close: () => Promise<void>
}

export async function startTcpProxy (targetPort: number): Promise<TcpProxy> {
  let mode: 'forward' | 'blackhole' = 'forward'
  const sockets = new Set<Socket>()
  let server: Server | undefined
  let port = 0

  function track (socket: Socket): void {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => socket.destroy())
  }

  function onConnection (client: Socket): void {
    track(client)
    if (mode === 'blackhole') return
    const upstream = connect(targetPort, '127.0.0.1')
    track(upstream)
    client.pipe(upstream)
    upstream.pipe(client)
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  }

  async function listen (): Promise<void> {
    const listening = createServer(onConnection)
    await new Promise<void>((resolve, reject) => listening.once('error', reject).listen(port, '127.0.0.1', resolve))
    const address = listening.address()
    if (address !== null && typeof address === 'object') port = address.port
    server = listening
  }

  function destroyAll (): void {
    for (const socket of sockets) socket.destroy()
  }

  async function stopListening (): Promise<void> {
    const closing = server
    server = undefined
    destroyAll()
    if (closing !== undefined) await new Promise((resolve) => closing.close(resolve))
  }

  await listen()
  return {
    get port () { return port },
    url (databaseUrl) {
      const url = new URL(databaseUrl)
      url.port = String(port)
      return url.toString()
    },
    async forward () {
      mode = 'forward'
      // Frozen connections are cut, as a real network partition ends: the pool must discard them.
      destroyAll()
      if (server === undefined) await listen()
    },
    blackhole () {
      mode = 'blackhole'
      for (const socket of sockets) {
        socket.unpipe()
        socket.pause()
      }
    },
    refuse: stopListening,
    close: stopListening
  }
}
