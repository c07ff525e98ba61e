/**
 * The cluster's history (replica mode): every replica's operations, newest first, a page at a time,
 * with the journal's filters and cursor, so /v1/history gives the same page whichever replica is
 * asked.
 *
 * The index: `history/<startedAt>/<op id>` → op id, put in the transaction of the operation's
 * intent with the operation records' retention lease (a day). ISO times of years 0000–9999 have one
 * width, so the keys sort by start time; two operations started in the same millisecond sort by id
 * (arbitrary, but the same on every replica). Each key's operation is read from `ops/<id>`, which
 * holds the latest word on it (running, its result, or orphaned).
 */
import type etcd3 from 'etcd3'
import { FenceError } from '../../core/errors.js'
import type { JournalHistoryQuery } from '../audit/journal.js'
import type { HistoryEntry, Operation } from '../engine/types.js'
import { type OperationRecord, unavailable } from './coordinator.js'
import { tries } from './etcd-client.js'

export const HISTORY_DIR = 'history/'
/** Just above every `history/…` key ('0' follows '/'). */
const HISTORY_END = 'history0'
/** Index keys read per round trip (fewer when the page needs fewer). */
const BATCH = 256

/** The operation's key in the index. */
export function historyKey(op: Pick<Operation, 'id' | 'startedAt'>): string {
  return `${HISTORY_DIR}${op.startedAt}/${op.id}`
}

/** What the reader needs of etcd (the EtcdCoordinator gives it; tests give one in memory). */
export interface HistoryStore {
  /** Index keys in [start, end), highest (newest) first, at most `limit`. */
  keys(start: string, end: string, limit: number): Promise<string[]>
  /**
   * The records of these operations; an expired one is missing. A record whose replica died
   * before any replica swept it must come back with `orphaned: true` (as findOperation does).
   */
  records(ids: readonly string[]): Promise<Map<string, OperationRecord>>
}

/**
 * One operation as history entries, one per node, in the journal's order (newest first: the
 * operation's last node first). An orphan's nodes without a result of their own are `unknown`
 * (REPLICA_LOST), as the journal says of an intent its gateway left without a result.
 * `finishedAt` is the operation's end (etcd keeps no per-node result time).
 */
export function entriesOf(rec: OperationRecord): HistoryEntry[] {
  const { op } = rec
  const out = op.nodes.map((node): HistoryEntry => {
    const e: HistoryEntry = {
      op: op.id,
      kind: op.kind,
      action: op.action,
      node,
      initiator: op.initiator,
      startedAt: op.startedAt,
      outcome: 'running',
    }
    const r = op.results.find((x) => x.node === node)
    const lost = rec.orphaned === true && (!r || r.error?.code === 'REPLICA_LOST')
    if (lost)
      return {
        ...e,
        ...(op.finishedAt ? { finishedAt: op.finishedAt } : {}),
        outcome: 'unknown',
        error: {
          code: 'REPLICA_LOST',
          message: r?.error?.message ?? `outcome unknown: replica ${rec.replica} died during the operation`,
        },
      }
    if (!r) return op.status === 'running' ? e : { ...e, outcome: 'unknown' }
    return {
      ...e,
      ...(op.finishedAt ? { finishedAt: op.finishedAt } : {}),
      outcome: r.outcome,
      ...(r.level !== undefined ? { level: r.level } : {}),
      ...(r.onVerified !== undefined ? { onVerified: r.onVerified } : {}),
      ...(r.error ? { error: { code: r.error.code, message: r.error.message } } : {}),
      ...(r.confirmation ? { confirmation: { ...r.confirmation } } : {}),
    }
  })
  return out.reverse()
}

/** The journal's filters: node, a token's nodes, outcome, start time within [since, until]. */
function filter(q: JournalHistoryQuery): (e: HistoryEntry) => boolean {
  const since = q.since?.getTime() ?? Number.NEGATIVE_INFINITY
  const until = q.until?.getTime() ?? Number.POSITIVE_INFINITY
  const nodes = q.nodes ? new Set(q.nodes) : undefined
  return (e) => {
    if (q.node !== undefined && e.node !== q.node) return false
    if (nodes && !nodes.has(e.node)) return false
    if (q.outcome !== undefined && e.outcome !== q.outcome) return false
    const t = Date.parse(e.startedAt)
    return t >= since && t <= until
  }
}

/** A time as it sorts in the index; undefined outside years 0000–9999 (then only the filter bounds it). */
function sortable(d: Date | undefined): string | undefined {
  const s = d && !Number.isNaN(d.getTime()) ? d.toISOString() : undefined
  return s?.length === 24 ? s : undefined
}

/**
 * A page of the cluster's history: at most `q.limit` (default 1000) entries, newest first, older
 * than the cursor `q.before` (the journal's cursor: `historyCursor` of the previous page's last
 * entry). A cursor whose operation etcd no longer has (older than a day) or never had is a
 * BAD_REQUEST naming `before`, as the journal says of one it does not know.
 */
export async function readHistory(store: HistoryStore, q: JournalHistoryQuery): Promise<HistoryEntry[]> {
  const limit = q.limit ?? 1000
  const keep = filter(q)
  const since = sortable(q.since)
  const until = sortable(q.until)
  const start = since ? `${HISTORY_DIR}${since}` : HISTORY_DIR
  // keys of `until`'s own millisecond go on with '/', below '0'
  let end = until ? `${HISTORY_DIR}${until}0` : HISTORY_END
  const out: HistoryEntry[] = []
  if (q.before !== undefined) {
    const [id, node] = Buffer.from(q.before, 'base64url').toString().split('\u0000')
    const rec = id ? (await store.records([id])).get(id) : undefined
    const at = rec ? entriesOf(rec).findIndex((e) => e.node === node) : -1
    if (!rec || at < 0)
      throw new FenceError(
        'BAD_REQUEST',
        `before: cursor ${JSON.stringify(q.before)} is not in the cluster's history (older than a day, or from another cluster): start again without it`,
        { field: 'before' },
      )
    // first the rest of the cursor's own operation, then the operations that started before it
    for (const e of entriesOf(rec).slice(at + 1)) if (keep(e) && out.length < limit) out.push(e)
    const k = historyKey(rec.op)
    if (k < end) end = k
  }
  while (out.length < limit && start < end) {
    const want = Math.min(BATCH, Math.max(16, limit - out.length))
    const keys = await store.keys(start, end, want)
    const ids = keys.map((k) => k.slice(k.lastIndexOf('/') + 1))
    const recs = await store.records(ids)
    for (const id of ids) {
      const rec = recs.get(id)
      if (!rec) continue // expired between the two reads
      for (const e of entriesOf(rec)) if (keep(e) && out.length < limit) out.push(e)
    }
    if (keys.length < want) break
    end = keys.at(-1)!
  }
  return out
}

type Namespace = ReturnType<InstanceType<typeof etcd3.Etcd3>['namespace']>

/**
 * A page of the cluster's history read from etcd (`ns`: the replicas' prefix). Throws
 * COORDINATION_UNAVAILABLE when etcd does not answer within `callMs` a request.
 */
export async function clusterHistory(
  ns: Namespace,
  q: JournalHistoryQuery,
  callMs: number,
): Promise<HistoryEntry[]> {
  // the intent lives with its replica's lease: gone means the replica died, or the operation ended
  const live = async (id: string) =>
    (await tries((o) => ns.get(`intents/${id}`).options(o).string(), callMs)) !== null
  const store: HistoryStore = {
    keys: (start, end, limit) =>
      tries(
        (o) => ns.getAll().inRange({ start, end }).sort('Key', 'Descend').limit(limit).options(o).keys(),
        callMs,
      ),
    async records(ids) {
      const raws = await Promise.all(
        ids.map((id) => tries((o) => ns.get(`ops/${id}`).options(o).string(), callMs)),
      )
      const out = new Map<string, OperationRecord>()
      await Promise.all(
        raws.map(async (raw, i) => {
          if (!raw) return
          let rec = JSON.parse(raw) as OperationRecord
          if (rec.op.status === 'running' && !(await live(rec.op.id))) {
            // no intent: it ended since (read it again), or its replica died (findOperation's rule:
            // unknown, whether or not a sweeper has claimed it yet)
            const again = await tries((o) => ns.get(`ops/${rec.op.id}`).options(o).string(), callMs)
            if (again) rec = JSON.parse(again) as OperationRecord
            if (rec.op.status === 'running') rec.orphaned = true
          }
          out.set(ids[i]!, rec)
        }),
      )
      return out
    },
  }
  try {
    return await readHistory(store, q)
  } catch (e) {
    if (e instanceof FenceError) throw e
    throw unavailable(`etcd: reading the cluster's history failed: ${(e as Error).message}`)
  }
}
