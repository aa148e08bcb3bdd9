import fp from 'fastify-plugin'

export interface ShutdownState {
  /** True from the first shutdown signal on: probes then fail so load balancers stop routing here. */
  readonly begun: boolean
  begin: () => void
}

declare module 'fastify' {
  interface FastifyInstance {
    shutdown: ShutdownState
  }
}

/** Whether this process is shutting down, set on a shutdown signal or by any `close()`. */
export default fp(async function shutdown (fastify) {
  let begun = false
  fastify.decorate('shutdown', {
    get begun () { return begun },
    begin () { begun = true }
  })
  fastify.addHook('preClose', async () => { begun = true })
  // Keep-alive connections would hold server.close() open until they idle out: once shutdown has
  // begun, each response closes its connection, so clients reconnect to another instance.
  // A callback hook: it runs on every response, and an async one costs a promise each time.
  fastify.addHook('onSend', function closeConnectionsWhenShuttingDown (_request, reply, payload, done) {
    if (begun) reply.header('connection', 'close')
    done(null, payload)
  })
}, { name: 'shutdown' })
