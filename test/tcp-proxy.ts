import { createServer, connect, type Socket } from 'node:net'

/**
 * A TCP proxy in front of the test database that the test can break on purpose: `refuse()` resets
 * every connection at once, `blackhole()` accepts connections and never answers, `forward()` heals.
 * It keeps the one port it was given for its whole life, so no other process can take it meanwhile.
 */
export interface TcpProxy {
  port: number
  /** The database URL, pointed at the proxy. */
  url: (databaseUrl: string) => string
  forward: () => void
  blackhole: () => void
  refuse: () => void
  close: () => Promise<void>
}

/** A proxy to the PostgreSQL listening on the Unix socket `socketPath`. */
export async function startTcpProxy (socketPath: string): Promise<TcpProxy> {
  let mode: 'forward' | 'blackhole' | 'refuse' = 'forward'
  const sockets = new Set<Socket>()

  function track (socket: Socket): void {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => socket.destroy())
  }

  function onConnection (client: Socket): void {
    track(client)
    if (mode === 'refuse') {
      client.resetAndDestroy()
      return
    }
    if (mode === 'blackhole') return
    const upstream = connect(socketPath)
    track(upstream)
    client.pipe(upstream)
    upstream.pipe(client)
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  }

  function destroyAll (): void {
    for (const socket of sockets) socket.destroy()
  }

  const server = createServer(onConnection)
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address !== 'object') throw new Error('the proxy has no TCP address')

  return {
    port: address.port,
    url (databaseUrl) {
      const url = new URL(databaseUrl)
      url.hostname = '127.0.0.1'
      url.port = String(address.port)
      url.searchParams.delete('host')
      return url.toString()
    },
    forward () {
      mode = 'forward'
      // Frozen connections are cut, as a real network partition ends: the pool must discard them.
      destroyAll()
    },
    blackhole () {
      mode = 'blackhole'
      for (const socket of sockets) {
        socket.unpipe()
        socket.pause()
      }
    },
    refuse () {
      mode = 'refuse'
      destroyAll()
    },
    async close () {
      destroyAll()
      await new Promise((resolve) => server.close(resolve))
    }
  }
}
