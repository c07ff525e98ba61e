/** /v1/history: what the journal says was done, newest first. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { HistoryQuery } from '../../engine/types.js'
import { assertNodes, mayUse, principal } from '../auth.js'
import type { ApiContext } from '../context.js'
import { fieldError } from '../errors.js'
import { HistoryQuery as HistoryQuerySchema, HistoryReply, errors } from '../schemas.js'

const MAX_LIMIT = 100_000

export const historyRoutes: FastifyPluginAsyncTypebox<ApiContext> = async (app, ctx) => {
  app.get(
    '/history',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Journal entries (one per node of an operation), newest first',
        tags: ['history'],
        querystring: HistoryQuerySchema,
        response: { 200: HistoryReply, ...errors(400, 401, 403) },
      },
    },
    async (req) => {
      const who = principal(req)
      const q = req.query
      if (q.node !== undefined) assertNodes(who, [q.node])
      const limit = q.limit === undefined ? 1000 : Number(q.limit)
      if (limit < 1 || limit > MAX_LIMIT)
        throw fieldError('BAD_REQUEST', 'querystring.limit', `expected 1 to ${MAX_LIMIT}, got ${q.limit}`)
      const query: HistoryQuery = {
        ...(q.node !== undefined ? { node: q.node } : {}),
        ...(q.outcome !== undefined ? { outcome: q.outcome } : {}),
        ...(q.since !== undefined ? { since: isoTime('querystring.since', q.since) } : {}),
        ...(q.until !== undefined ? { until: isoTime('querystring.until', q.until) } : {}),
        // a restricted token's entries are filtered here, so the journal must not cut first
        limit: who.nodes ? Number.MAX_SAFE_INTEGER : limit,
      }
      const entries = (await ctx.engine.history(query)).filter((e) => mayUse(who, e.node)).slice(0, limit)
      return { simulated: ctx.simulated, entries }
    },
  )
}

function isoTime(field: string, v: string): Date {
  const t = Date.parse(v)
  if (Number.isNaN(t))
    throw fieldError(
      'BAD_REQUEST',
      field,
      `expected an ISO time like 2026-01-31T12:00:00Z, got ${JSON.stringify(v)}`,
    )
  return new Date(t)
}
