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

/** Whether this process is shutting down, set by src/server.ts on a signal or by any `close()`. */
export default fp(async function shutdown (fastify) {
  let begun = false
  fastify.decorate('shutdown', {
    get begun () { return begun },
    begin () { begun = true }
  })
  fastify.addHook('preClose', async () => { begun = true })
}, { name: 'shutdown' })
