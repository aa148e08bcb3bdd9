import { Type, type TProperties, type TSchema } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { QueryResultRow } from 'pg'
import type { Query } from '../database/availability.js'
import { httpError } from '../http/http-error.js'

export const DEFAULT_PAGE_LIMIT = 50
export const MAX_PAGE_LIMIT = 100

/** A column a list may be sorted by, and the PostgreSQL type its cursor value is read back as. */
export interface SortKey {
  /** An SQL expression over the list's FROM clause. */
  column: string
  type: 'text' | 'timestamptz' | 'integer' | 'bigint' | 'uuid'
}

/**
 * How one list reads its rows: `where` selects them, the chosen sort key orders them, and `id`
 * (unique) breaks ties so that the order is total and a page boundary is one exact position.
 * Every sort key needs an index on (the `where` equality columns, key, id): pages are read by
 * keyset, never OFFSET, so a page costs the same wherever it is.
 */
export interface ListSpec {
  /** The select list of an item, without the cursor columns. */
  columns: string
  /** FROM and JOINs. */
  from: string
  /** A condition; its parameters are `params` ($1, $2, ...). */
  where: string
  params: unknown[]
  sorts: Record<string, SortKey>
  id: SortKey
}

/** What the client asks for: `sort` is a key of the spec's sorts, led by `-` for descending order. */
export interface PageRequest {
  limit?: number
  cursor?: string
  sort?: string
}

export interface Page<Item> {
  items: Item[]
  next_cursor: string | null
}

/**
 * The query-string schema of a list: `limit`, `cursor`, `sort` (each documented name ascending,
 * or descending with a leading `-`) and the list's own filters.
 */
export function pageQuerySchema<Filters extends TProperties> (sorts: string[], defaultSort: string, filters = {} as Filters) {
  return Type.Object({
    limit: Type.Integer({ minimum: 1, maximum: MAX_PAGE_LIMIT, default: DEFAULT_PAGE_LIMIT, description: `Items per page, 1 to ${MAX_PAGE_LIMIT}` }),
    cursor: Type.Optional(Type.String({
      minLength: 1,
      maxLength: 1024,
      pattern: '^[A-Za-z0-9_-]+$',
      description: 'Opaque: the `next_cursor` of the previous page, with the same `sort`. Absent for the first page'
    })),
    sort: Type.String({
      enum: sorts.flatMap((name) => [name, `-${name}`]),
      default: defaultSort,
      description: 'The order of the items: a field name, ascending, or with a leading `-`, descending. Ties are broken by id, so the order is stable'
    }),
    ...filters
  }, { additionalProperties: false })
}

/** The answer of a list: one page of items, and the cursor of the next page (null on the last). */
export function pageSchema<T extends TSchema> (item: T, example: unknown) {
  return Type.Object({
    items: Type.Array(item, { maxItems: MAX_PAGE_LIMIT }),
    next_cursor: Type.Unsafe<string | null>({ type: ['string', 'null'], description: 'Pass as `cursor` for the next page; null on the last page' })
  }, { examples: [{ items: [example], next_cursor: null }] })
}

/** The response headers of a list, for its OpenAPI document. */
export const pageHeaders = {
  Link: Type.String({ description: 'RFC 8288 `<...>; rel="next"`: the URI of the next page, when there is one' })
}

interface Position { sort: string, key: string, id: string }

function encodeCursor (position: Position): string {
  return Buffer.from(JSON.stringify([position.sort, position.key, position.id])).toString('base64url')
}

function decodeCursor (cursor: string, sort: string): Position {
  let decoded: unknown
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    decoded = undefined
  }
  if (!Array.isArray(decoded) || decoded.length !== 3 || !decoded.every((part) => typeof part === 'string')) {
    throw httpError(400, 'The cursor is not one this list gave out')
  }
  if (decoded[0] !== sort) throw httpError(400, `The cursor belongs to another sort order than ${JSON.stringify(sort)}: start again without a cursor`)
  return { sort: decoded[0], key: decoded[1], id: decoded[2] }
}

/** The statement that reads one page (one row more than asked, to tell whether another follows), with its parameters. */
export function keysetStatement (spec: ListSpec, request: PageRequest): { text: string, values: unknown[], limit: number, sort: string } {
  const limit = request.limit ?? DEFAULT_PAGE_LIMIT
  const sort = request.sort ?? Object.keys(spec.sorts)[0]
  const descending = sort.startsWith('-')
  const key = spec.sorts[descending ? sort.slice(1) : sort]
  if (key === undefined) throw httpError(400, `This list cannot be sorted by ${JSON.stringify(sort)}`)
  const values = [...spec.params]
  const parameter = (value: unknown) => `$${values.push(value)}`
  let where = spec.where
  if (request.cursor !== undefined) {
    const after = decodeCursor(request.cursor, sort)
    where += ` AND (${key.column}, ${spec.id.column}) ${descending ? '<' : '>'} (${parameter(after.key)}::${key.type}, ${parameter(after.id)}::${spec.id.type})`
  }
  const direction = descending ? 'DESC' : 'ASC'
  const text = `SELECT ${spec.columns}, (${key.column})::text AS page_key, (${spec.id.column})::text AS page_id
     FROM ${spec.from} WHERE ${where}
     ORDER BY ${key.column} ${direction}, ${spec.id.column} ${direction} LIMIT ${parameter(limit + 1)}`
  return { text, values, limit, sort }
}

/**
 * One page of a list, by keyset: the rows after the cursor's (sort key, id) in that order. Rows
 * added or removed while a client pages move no other row, so nothing is repeated or skipped.
 */
export async function keysetPage<Item extends QueryResultRow> (query: Query, spec: ListSpec, request: PageRequest): Promise<Page<Item>> {
  const { text, values, limit, sort } = keysetStatement(spec, request)
  const { rows } = await query<Item & { page_key: string, page_id: string }>(text, values)
  const last = rows.length > limit ? rows[limit - 1] : undefined
  const items = rows.slice(0, limit).map(({ page_key: _key, page_id: _id, ...item }) => item as unknown as Item)
  return { items, next_cursor: last === undefined ? null : encodeCursor({ sort, key: last.page_key, id: last.page_id }) }
}

/** The URI of the next page (RFC 8288 `rel="next"`): the request's own URI with the next cursor. */
export function nextPageLink (url: string, cursor: string): string {
  const [path, search = ''] = url.split('?', 2)
  const next = new URLSearchParams(search)
  next.set('cursor', cursor)
  return `<${path}?${next.toString()}>; rel="next"`
}

/** Sends a page with its `Link` header to the next page, when there is one. */
export function sendPage<Item> (request: FastifyRequest, reply: FastifyReply, page: Page<Item>): Page<Item> {
  if (page.next_cursor !== null) reply.header('link', nextPageLink(request.url, page.next_cursor))
  return page
}
