import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { errorResponses, loadShedding, malformedRequest } from '../src/http/error-responses.js'

const Welcome = Type.Object({
  message: Type.String(),
  docs: Type.String({ description: 'Swagger UI' }),
  redoc: Type.String({ description: 'ReDoc' })
}, {
  description: 'A welcome and where to read the API documentation',
  examples: [{ message: 'Welcome to Spinta Backend API', docs: '/docs', redoc: '/redoc' }]
})

const root: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/', {
    schema: {
      operationId: 'getRoot',
      tags: ['Root'],
      summary: 'Welcome message',
      description: 'A welcome message with links to the API documentation.',
      security: [],
      response: { 200: Welcome, ...errorResponses('/', { ...malformedRequest, ...loadShedding }) }
    }
  }, async () => ({ message: 'Welcome to Spinta Backend API', docs: '/docs', redoc: '/redoc' }))
}

export default root
