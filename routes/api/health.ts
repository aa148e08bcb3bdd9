import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'

const Health = Type.Object({
  status: Type.Literal('healthy', { description: 'The API process answers' }),
  database: Type.Union([Type.Literal('connected'), Type.Literal('disconnected')], {
    description: '`connected` when `SELECT 1` succeeded on a pooled connection'
  })
}, {
  examples: [{ status: 'healthy', database: 'connected' }, { status: 'healthy', database: 'disconnected' }]
})

const health: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/health', {
    schema: {
      operationId: 'getHealth',
      tags: ['Health'],
      summary: 'API and database health',
      description: 'Runs `SELECT 1` on a pooled connection. Always 200: `database` says whether the query succeeded.',
      response: { 200: Health }
    }
  }, async () => {
    const check = await fastify.checkDatabase()
    return { status: 'healthy' as const, database: check.ok ? 'connected' as const : 'disconnected' as const }
  })
}

export default health
