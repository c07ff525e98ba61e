/**
 * One error handler for the whole API: every error answer is
 * `{statusCode, error, code, message}` (+ `field` when a request field is at fault), with the
 * HTTP status of the code in core/errors.ts. Fastify's own validation errors become
 * BAD_REQUEST naming the field and what was expected.
 */
import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { FenceError } from '../../core/errors.js'

export interface ErrorBodyT {
  statusCode: number
  error: string
  code: string
  message: string
  field?: string
  simulated?: boolean
}

/** A FenceError that names the request field at fault. */
export function fieldError(
  code: 'BAD_REQUEST' | 'HOSTLIST_SYNTAX',
  field: string,
  message: string,
): FenceError {
  return new FenceError(code, `${field}: ${message}`, { field })
}

export function errorBody(err: unknown, req: FastifyRequest): ErrorBodyT {
  if (err instanceof FenceError) {
    const field = err.details?.field
    return {
      statusCode: err.httpStatus,
      error: STATUS_CODES[err.httpStatus] ?? 'Error',
      code: err.code,
      message: err.message,
      ...(typeof field === 'string' ? { field } : {}),
    }
  }
  const fe = err as FastifyError
  if (fe.validation) {
    const { field, message } = describeValidation(fe, req)
    return { statusCode: 400, error: 'Bad Request', code: 'BAD_REQUEST', message, field }
  }
  const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500
  if (status === 415) {
    const sent = req.headers['content-type']
    return {
      statusCode: 415,
      error: STATUS_CODES[415]!,
      code: 'UNSUPPORTED_MEDIA_TYPE',
      message: `body: send it as JSON with the header 'Content-Type: application/json' (${sent ? `got '${sent}'` : 'no Content-Type was sent'})`,
      field: 'body',
    }
  }
  if (status >= 400 && status < 500) {
    // fastify's own client errors (bad JSON, body too large, content type): keep the status
    const code = status === 401 ? 'UNAUTHORIZED' : status === 403 ? 'FORBIDDEN' : 'BAD_REQUEST'
    const field = fe.code?.startsWith('FST_ERR_CTP') ? 'body' : undefined
    return {
      statusCode: status,
      error: STATUS_CODES[status] ?? 'Error',
      code,
      message: field ? `body: ${fe.message}` : fe.message,
      ...(field ? { field } : {}),
    }
  }
  return {
    statusCode: 500,
    error: 'Internal Server Error',
    code: 'INTERNAL',
    message: 'internal error (see the gateway log)',
  }
}

export function errorHandler(simulated: boolean) {
  return (err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    const body = errorBody(err, req)
    if (body.statusCode >= 500) req.log.error({ err }, 'request failed')
    else req.log.info({ code: body.code, message: body.message }, 'request refused')
    if (body.statusCode === 401) reply.header('www-authenticate', 'Bearer realm="fencegate"')
    if (body.statusCode === 429) reply.header('retry-after', '1')
    return reply.code(body.statusCode).send({ ...body, simulated })
  }
}

export function notFoundHandler(simulated: boolean) {
  return (req: FastifyRequest, reply: FastifyReply) =>
    reply.code(404).send({
      statusCode: 404,
      error: 'Not Found',
      code: 'NOT_FOUND',
      message: `no route ${req.method} ${req.url.split('?')[0]} (see /openapi.json)`,
      simulated,
    })
}

// ---- validation messages ----------------------------------------------------------------

interface AjvError {
  keyword: string
  instancePath: string
  params: Record<string, unknown>
  message?: string
  schemaPath?: string
}

type JsonSchema = {
  type?: string
  enum?: unknown[]
  properties?: Record<string, JsonSchema>
  minimum?: number
  maximum?: number
  minLength?: number
  maxLength?: number
  pattern?: string
  items?: JsonSchema
}

/** `body.action: expected one of on, off, cycle, reboot, got "fly"`. */
function describeValidation(err: FastifyError, req: FastifyRequest): { field: string; message: string } {
  const ctx = err.validationContext ?? 'request'
  const e = (err.validation as unknown as AjvError[])[0]!
  const parts = e.instancePath.split('/').filter(Boolean).map(unescapePointer)
  const root = schemaOf(req, ctx)
  const data = dataOf(req, ctx)
  if (e.keyword === 'required') {
    const name = String(e.params.missingProperty)
    const field = [ctx, ...parts, name].join('.')
    const want = expectation(subSchema(root, [...parts, name]))
    return { field, message: `${field}: required${want ? `, expected ${want}` : ''}` }
  }
  if (e.keyword === 'additionalProperties') {
    const name = String(e.params.additionalProperty)
    const field = [ctx, ...parts, name].join('.')
    const known = Object.keys(subSchema(root, parts)?.properties ?? {})
    return {
      field,
      message: `${field}: unknown field${known.length ? ` (expected only: ${known.join(', ')})` : ''}`,
    }
  }
  const field = [ctx, ...parts].join('.')
  const value = valueAt(data, parts)
  const want = expectation(subSchema(root, parts)) ?? e.message ?? e.keyword
  return { field, message: `${field}: expected ${want}, got ${show(value)}` }
}

function unescapePointer(s: string): string {
  return s.replace(/~1/g, '/').replace(/~0/g, '~')
}

function schemaOf(req: FastifyRequest, ctx: string): JsonSchema | undefined {
  const s = req.routeOptions.schema as Record<string, unknown> | undefined
  return s?.[ctx] as JsonSchema | undefined
}

function dataOf(req: FastifyRequest, ctx: string): unknown {
  switch (ctx) {
    case 'body':
      return req.body
    case 'querystring':
      return req.query
    case 'params':
      return req.params
    case 'headers':
      return req.headers
    default:
      return undefined
  }
}

function subSchema(s: JsonSchema | undefined, path: string[]): JsonSchema | undefined {
  let cur = s
  for (const p of path) cur = /^\d+$/.test(p) && cur?.items ? cur.items : cur?.properties?.[p]
  return cur
}

function valueAt(data: unknown, path: string[]): unknown {
  let cur = data
  for (const p of path) cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[p] : undefined
  return cur
}

/** What a schema wants, in words. */
export function expectation(s: JsonSchema | undefined): string | undefined {
  if (!s) return undefined
  if (s.enum) return `one of ${s.enum.map((v) => JSON.stringify(v)).join(', ')}`
  if (s.type === 'number' || s.type === 'integer') {
    const what = s.type === 'integer' ? 'an integer' : 'a number'
    if (s.minimum !== undefined && s.maximum !== undefined) return `${what} from ${s.minimum} to ${s.maximum}`
    if (s.minimum !== undefined) return `${what} ≥ ${s.minimum}`
    return what
  }
  if (s.type === 'string') {
    if (s.pattern) return `a string matching ${s.pattern}`
    if (s.maxLength !== undefined) return `a string of ${s.minLength ?? 0} to ${s.maxLength} characters`
    return 'a string'
  }
  if (s.type === 'object') {
    const keys = Object.keys(s.properties ?? {})
    return keys.length ? `a JSON object with ${keys.join(', ')}` : 'a JSON object'
  }
  if (s.type) return `a ${s.type}`
  return undefined
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing'
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  if (typeof v === 'object') return 'an object'
  const s = JSON.stringify(v)
  return s.length > 60 ? `${s.slice(0, 57)}...` : s
}
