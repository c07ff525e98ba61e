/**
 * /v1/history: what the journal says was done, newest first, a page at a time. Served from the
 * journal's in-memory index (never a re-read of the files); `next` is the cursor of the page
 * after this one. Replica mode: from the cluster's history in etcd (every replica's operations,
 * the same page from each), or, when etcd cannot be read, this replica's journal with a `warning`.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { type JournalHistoryQuery, historyCursor } from '../../audit/journal.js'
import { FenceError } from '../../../core/errors.js'
import { assertNodes, mayUse, principal } from '../auth.js'
import type { ApiContext } from '../context.js'
import { fieldError } from '../errors.js'
import type { HistoryEntry as Entry } from '../../engine/types.js'
import { HistoryEntry, HistoryQuery, HistoryReply, errors } from '../schemas.js'

/** Entries in one answer (a page); older ones by `before`. */
export const MAX_LIMIT = 10_000

const HistoryPageQuery = Type.Object(
  {
    ...HistoryQuery.properties,
    limit: Type.Optional(
      Type.String({
        pattern: '^[0-9]{1,6}$',
        description: `at most this many, newest first (1..${MAX_LIMIT}, default 1000); more: give \`before\``,
      }),
    ),
    before: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9_-]{1,1024}$',
        description: 'the `next` of the previous answer: the entries older than it',
      }),
    ),
  },
  { additionalProperties: false },
)

/** The start of the warning of a page read from this replica's journal (etcd could not be read). */
export const LOCAL_ONLY = "this replica's operations only: the cluster's history in etcd could not be read"

const HistoryPageReply = Type.Object({
  ...HistoryReply.properties,
  entries: Type.Array(HistoryEntry),
  next: Type.Optional(
    Type.String({ description: 'more entries are older than this page: give it as `before` to get them' }),
  ),
  warning: Type.Optional(
    Type.String({
      description:
        "replica mode only: etcd could not be read, so this page is this replica's own journal (the operations it ran), not the cluster's; the cause follows",
    }),
  ),
})

export const historyRoutes: FastifyPluginAsyncTypebox<ApiContext> = async (app, ctx) => {
  app.get(
    '/history',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Journal entries (one per node of an operation), newest first, a page at a time',
        tags: ['history'],
        querystring: HistoryPageQuery,
        response: { 200: HistoryPageReply, ...errors(400, 401, 403) },
      },
    },
    async (req) => {
      const who = principal(req)
      const q = req.query
      if (q.node !== undefined) assertNodes(who, [q.node])
      const limit = q.limit === undefined ? 1000 : Number(q.limit)
      if (limit < 1 || limit > MAX_LIMIT)
        throw fieldError(
          'BAD_REQUEST',
          'querystring.limit',
          `expected 1 to ${MAX_LIMIT} (a page; the next one with before=<next>), got ${q.limit}`,
        )
      const query: JournalHistoryQuery = {
        ...(q.node !== undefined ? { node: q.node } : {}),
        ...(q.outcome !== undefined ? { outcome: q.outcome } : {}),
        ...(q.since !== undefined ? { since: isoTime('querystring.since', q.since) } : {}),
        ...(q.until !== undefined ? { until: isoTime('querystring.until', q.until) } : {}),
        ...(q.before !== undefined ? { before: q.before } : {}),
        // a restricted token's entries are chosen by the journal, so a page is a full page
        ...(who.nodes ? { nodes: [...who.nodes] } : {}),
        // one more than asked: whether there is a next page
        limit: limit + 1,
      }
      let found: Awaited<ReturnType<typeof page>>
      try {
        found = await page(ctx.engine, query)
      } catch (e) {
        if (e instanceof FenceError && e.code === 'BAD_REQUEST' && e.details?.field === 'before')
          throw fieldError('BAD_REQUEST', 'querystring.before', e.message.replace(/^before: /, ''))
        throw e
      }
      const entries = found.entries.filter((e) => mayUse(who, e.node))
      const shown = entries.slice(0, limit)
      const last = shown.at(-1)
      return {
        simulated: ctx.simulated,
        entries: shown,
        ...(entries.length > limit && last ? { next: historyCursor(last) } : {}),
        ...(found.warning ? { warning: found.warning } : {}),
      }
    },
  )
}

/**
 * Replica mode: the cluster's page, from etcd (the same on every replica). When etcd cannot be
 * read: this replica's own journal, and a warning saying so. One gateway: its journal.
 */
async function page(
  engine: ApiContext['engine'],
  query: JournalHistoryQuery,
): Promise<{ entries: Entry[]; warning?: string }> {
  let warning: string | undefined
  try {
    const entries = await engine.coordinator?.operationPage(query)
    if (entries) return { entries }
  } catch (e) {
    if (!(e instanceof FenceError && e.code === 'COORDINATION_UNAVAILABLE')) throw e
    warning = `${LOCAL_ONLY} (${String(e.details?.cause ?? e.message)})`
  }
  return { entries: await engine.history(query), ...(warning ? { warning } : {}) }
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
