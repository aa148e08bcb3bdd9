import { Type } from '@sinclair/typebox'
import { describeAccess, type TeamAccess } from './access.js'
import { bodyRefusals, databaseRefusals, errorResponses, malformedRequest, type ErrorDocs } from '../http/error-responses.js'
import { etagHeader } from '../http/conditional.js'

export const security: Array<Record<string, string[]>> = [{ OAuth2PasswordBearer: [] }, { HTTPBearer: [] }]

const unauthenticated: ErrorDocs = {
  401: { description: 'No bearer token, or one that is malformed, expired, forged or names no account', detail: 'Could not validate credentials' }
}

/** A route's description: what it does, then who may use it. */
export function described (text: string, access?: TeamAccess): string {
  return access === undefined ? `${text} Any signed-in user.` : `${text} ${describeAccess(access)} A caller who is not a member of the team gets 404, as for a team that does not exist; a member whose role does not allow this gets 403.`
}

interface RouteErrors {
  /** The operation's path, as its examples show it. */
  path: string
  /** The operation is under a team (404 and 403 from the access check). */
  team?: boolean
  /** It reads a body. */
  body?: boolean
  /** Extra statuses of its own. */
  own?: ErrorDocs
}

/** The documented error responses of a team operation. */
export function teamErrors ({ path, team = false, body = false, own = {} }: RouteErrors) {
  return errorResponses(path, {
    ...malformedRequest,
    ...(body ? { 400: { description: 'The request is invalid: `errors` lists each problem', detail: 'The request body is invalid: /body/name must NOT have more than 100 characters' } } : {}),
    ...unauthenticated,
    ...(team
      ? {
          403: { description: 'The caller\'s role in the team does not allow this, or the account is deactivated', detail: 'Your role in this team (guardian) does not allow this. Roles: coach.' },
          404: { description: 'No such team, or the caller is not a member of it (the same answer, so that a team\'s existence is not revealed); or no such player or member in it', detail: 'There is no team with this id' }
        }
      : { 403: { description: 'The account is deactivated', detail: 'This account is deactivated' } }),
    ...(body ? bodyRefusals : {}),
    ...own,
    ...databaseRefusals
  })
}

/** The errors of a conditional change (PATCH, DELETE). */
export const preconditionRefusals: ErrorDocs = {
  412: { description: 'If-Match does not name the current ETag: someone changed the resource since the caller read it', detail: 'The resource has changed since it was read (its ETag no longer matches If-Match): read it again and retry' },
  428: { description: 'If-Match is missing: a change must name the ETag it was based on', detail: 'This change needs an If-Match header with the ETag of the resource as last read' }
}

/** A single resource's 200, with its ETag, and the 304 of a conditional GET. */
export function withETag<T> (schema: T, description: string) {
  return {
    200: { description, headers: etagHeader, content: { 'application/json': { schema } } },
    304: Type.Null({ description: 'Not Modified: the ETag in If-None-Match is still current' })
  }
}
