import { createHash } from 'node:crypto'
import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { httpError } from './http-error.js'

/**
 * Conditional requests (RFC 9110 §13). A resource's strong entity tag is a digest of its JSON
 * representation, so it changes whenever any member does, and needs no version column.
 */
export function entityTag (representation: unknown): string {
  return `"${createHash('sha256').update(JSON.stringify(representation)).digest('base64url').slice(0, 27)}"`
}

/** The entity tags of an If-Match or If-None-Match value; `*` stands for itself. */
function listedTags (header: string): string[] {
  return header.split(',').map((tag) => tag.trim()).filter(Boolean)
}

/** If-None-Match uses the weak comparison (§13.1.2): `W/` is ignored. */
function noneMatchHits (header: string | undefined, tag: string): boolean {
  if (header === undefined) return false
  return listedTags(header).some((listed) => listed === '*' || listed.replace(/^W\//, '') === tag)
}

/**
 * Sends a single resource with its ETag; a GET whose If-None-Match names it gets 304 with the ETag
 * alone. Every answer carrying one resource goes through here.
 */
export function sendRepresentation<T> (request: FastifyRequest, reply: FastifyReply, representation: T | null): T | FastifyReply {
  // Found by the access check a moment ago: only a concurrent delete gets here.
  if (representation === null) throw httpError(404, 'The resource no longer exists')
  const tag = entityTag(representation)
  reply.header('etag', tag)
  const read = request.method === 'GET' || request.method === 'HEAD'
  if (read && noneMatchHits(request.headers['if-none-match'], tag)) return reply.code(304).send()
  return representation
}

/**
 * A preHandler for every PATCH and DELETE of a single resource: without If-Match the change could
 * overwrite one the client has not seen, so it is refused with 428 (RFC 6585).
 */
export async function requireIfMatch (request: FastifyRequest): Promise<void> {
  if (request.headers['if-match'] === undefined) throw httpError(428, IF_MATCH_MISSING)
}

const IF_MATCH_MISSING = 'This change needs an If-Match header with the ETag of the resource as last read'

/**
 * Throws 412 unless `ifMatch` names the current representation's tag (strong comparison,
 * §13.1.1) or is `*`. Call it with the row locked, so no change slips in between check and write.
 */
export function checkIfMatch (ifMatch: string | undefined, current: unknown): void {
  if (ifMatch === undefined) throw httpError(428, IF_MATCH_MISSING)
  const tag = entityTag(current)
  if (!listedTags(ifMatch).some((listed) => listed === '*' || listed === tag)) {
    throw httpError(412, 'The resource has changed since it was read (its ETag no longer matches If-Match): read it again and retry')
  }
}

/** The request headers of a conditional read, for its schema and document. */
export const conditionalReadHeaders = Type.Object({
  'if-none-match': Type.Optional(Type.String({ maxLength: 1024, description: 'ETags the client holds: 304 when one is current' }))
})

/** The request headers of a conditional change. */
export const conditionalWriteHeaders = Type.Object({
  'if-match': Type.Optional(Type.String({ maxLength: 1024, description: 'Required: the ETag of the resource as last read (428 without it, 412 when it is no longer current)' }))
})

/** The ETag response header, for the document. */
export const etagHeader = { ETag: Type.String({ description: 'Strong entity tag of this representation: send it in If-Match to change the resource, or in If-None-Match to revalidate' }) }

/**
 * RFC 7396 JSON Merge Patch: members of `patch` replace those of `target`, `null` removes one,
 * objects merge recursively, anything else replaces the whole.
 */
export function mergePatch (target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch
  const result: Record<string, unknown> = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...target } : {}
  for (const [name, value] of Object.entries(patch)) {
    if (value === null) delete result[name]
    else result[name] = mergePatch(result[name], value)
  }
  return result
}

/**
 * The resource `current` with `patch` merged in, checked against the resource's full schema (the
 * one a new resource is created with): a merge that removes a required member is refused with 400.
 */
export function patchedResource<T extends TSchema> (schema: T, current: Record<string, unknown>, patch: unknown): Static<T> {
  const merged = mergePatch(current, patch)
  const errors = [...compiled(schema).Errors(merged)]
  if (errors.length > 0) {
    throw Object.assign(httpError(400, 'The resource would be invalid after this change'), {
      validationContext: 'body',
      validation: errors.map((error) => ({ instancePath: error.path, message: error.message, params: {} }))
    })
  }
  return merged as Static<T>
}

const checkers = new WeakMap<TSchema, TypeCheck<TSchema>>()
function compiled (schema: TSchema): TypeCheck<TSchema> {
  let checker = checkers.get(schema)
  if (checker === undefined) checkers.set(schema, checker = TypeCompiler.Compile(schema))
  return checker
}
