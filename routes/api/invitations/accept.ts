import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { described, security, teamErrors } from '../../../src/teams/docs.js'
import { AcceptInvitationSchema, MyTeamSchema } from '../../../src/teams/schemas.js'

const accept: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post('/accept', {
    onRequest: fastify.authenticate,
    schema: {
      operationId: 'acceptInvitation',
      tags: ['Members'],
      summary: 'Accept an invitation',
      description: described('Joins the team of the invitation with its role. The caller must be signed in with the email the invitation went to, and have verified it (403 otherwise); ' +
        'a token works once and expires (400); an existing member gets 409.'),
      security,
      body: AcceptInvitationSchema,
      response: {
        200: MyTeamSchema,
        ...teamErrors({
          path: '/api/invitations/accept',
          body: true,
          own: {
            400: { description: 'The body is invalid, or the token is unknown, already used or expired', detail: 'This invitation is unknown, already used or expired' },
            403: { description: 'The invitation was sent to another email address, the caller\'s address is not verified yet, or the account is deactivated', detail: 'This invitation was sent to another email address' },
            409: { description: 'The caller is already a member of the team', detail: 'You are already a member of this team' }
          }
        })
      }
    }
  }, async (request) => fastify.members.accept(request.body.token, request.user))
}

export default accept
