import { STATUS_CODES } from 'node:http'
import { Type } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { PROBLEM_MEDIA_TYPE, ProblemSchema, type Problem } from '../src/http/problem.js'

/** The documented members and no others. */
const ExactProblem = Type.Object(ProblemSchema.properties, { additionalProperties: false })

export interface ErrorResponse {
  statusCode: number
  headers: Record<string, string | string[] | number | undefined>
  body: string
}

/**
 * What is wrong with an error response as problem details (empty when nothing is): the media
 * type, the schema, `status` and `title` matching the HTTP status, `requestId` matching the
 * X-Request-Id header, and `instance` when the caller knows the path it asked for.
 */
export function problemIssues (response: ErrorResponse, instance?: string): string[] {
  const issues: string[] = []
  const contentType = String(response.headers['content-type'] ?? '')
  if (!contentType.startsWith(PROBLEM_MEDIA_TYPE)) issues.push(`content-type is "${contentType}"`)
  let body: Problem
  try {
    body = JSON.parse(response.body)
  } catch {
    return [...issues, `body is not JSON: ${JSON.stringify(response.body.slice(0, 200))}`]
  }
  if (!Value.Check(ExactProblem, body)) {
    const [first] = Value.Errors(ExactProblem, body)
    return [...issues, `body breaks the problem schema at ${first?.path}: ${first?.message} (${response.body.slice(0, 200)})`]
  }
  if (body.type !== 'about:blank') issues.push(`type is ${body.type}`)
  if (body.status !== response.statusCode) issues.push(`status ${body.status} in a ${response.statusCode} response`)
  if (body.title !== STATUS_CODES[response.statusCode]) issues.push(`title "${body.title}" in a ${response.statusCode} response`)
  if (body.requestId !== response.headers['x-request-id']) issues.push(`requestId ${body.requestId} but X-Request-Id ${response.headers['x-request-id']}`)
  if (instance !== undefined && body.instance !== instance) issues.push(`instance ${JSON.stringify(body.instance)}, expected ${JSON.stringify(instance)}`)
  return issues
}
