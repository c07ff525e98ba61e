import { randomBytes } from 'node:crypto'
import { existsSync, linkSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { type FileHandle, mkdir, open, readFile } from 'node:fs/promises'
import path from 'node:path'
import { FenceError } from '../../core/errors.js'
import type { Initiator } from '../../core/types.js'
import type { JournalConfig } from '../config/config.js'
import type {
  Confirmation,
  HistoryEntry,
  HistoryOutcome,
  HistoryQuery,
  OperationAction,
  OperationKind,
} from '../engine/types.js'

/** The records of the journal, one JSON object per line. */
export type JournalRecord =
  | {
      t: 'intent'
      op: string
      ts: string
      kind: OperationKind
      action: OperationAction
      nodes: string[]
      initiator: Initiator
      /** Re-written into a new file at rotation because it was still open. */
      carried?: boolean
    }
  | {
      t: 'step'
      op: string
      ts: string
      node: string
      level: number
      device: string
      plug: string
      step: string
      /** `waiting`: the manual level waits for a person's confirmation. */
      outcome: 'issued' | 'ok' | 'failed' | 'waiting'
      code?: string
      message?: string
    }
  | {
      t: 'result'
      op: string
      ts: string
      node: string
      outcome: HistoryOutcome
      level?: number
      onVerified?: boolean
      /** Why the power-on of a reboot did not verify. */
      onError?: { code: string; message: string }
      error?: { code: string; message: string }
      /** `confirmed-by-operator`: who confirmed the node off, and why. */
      confirmation?: Confirmation
      /** Written at start-up for an intent the previous run left without a result. */
      recovered?: boolean
    }
  | { t: 'event'; ts: string; source: string; event: string; fields?: Record<string, unknown> }

type IntentRecord = Extract<JournalRecord, { t: 'intent' }>

/** A history query as the journal takes it: the engine's, plus paging and a token's node list. */
export interface JournalHistoryQuery extends HistoryQuery {
  /** A cursor (`historyCursor` of the last entry of the previous page): entries older than it. */
  before?: string
  /** Only entries of these nodes (a token restricted to some nodes). */
  nodes?: readonly string[]
}

export interface JournalOptions {
  /** fsync of a directory (after the journal file is created and after rotation). Tests observe it. */
  syncDir?: (dir: string) => Promise<void>
  /** Called when a stale lock is about to be taken over (tests race a second opener here). */
  beforeTakeover?: () => Promise<void>
}

/** Records written (and synced) in one write + one fdatasync, at most. */
const MAX_BATCH = 512
/** Entries a history query looks at before it lets the event loop run (fence timers, I/O). */
const YIELD_EVERY = 8192
/** History entries kept in memory (newest); older ones are only in the journal files. */
export const MAX_INDEXED = 200_000

interface Pending {
  line: string
  sync: boolean
  resolve: () => void
  reject: (e: Error) => void
}

interface Indexed extends HistoryEntry {
  seq: number
  /** Generation of the file holding its intent: the current file is `gen`, journal.jsonl.N is gen - N. */
  gen: number
  t: number
}

/**
 * The append-only journal (rule 8): JSON lines, an intent synced to disk before any device is
 * touched, a result after. One writer: a lock file beside the journal holds the writer's pid.
 * Size bound: past `maxBytes` the file is rotated (journal.jsonl -> .1 -> .2 …, `keep` kept)
 * and every intent still open is carried into the new file first, so rotation never drops one.
 *
 * Group commit: appends wait in a queue while a write is under way; the next write takes all
 * of them (up to MAX_BATCH) and syncs once, so many concurrent synced appends share one
 * fdatasync. Fence records (a fence intent, and the steps and results of a fence operation) go
 * ahead of every other record waiting in the queue.
 *
 * History is served from an in-memory index (built on open, kept up to date on append, trimmed
 * at rotation), never by re-reading the files.
 */
export class Journal {
  private fh: FileHandle | undefined
  private size = 0
  /** Fence records waiting to be written, and the others. */
  private readonly fenceQueue: Pending[] = []
  private readonly otherQueue: Pending[] = []
  /** The writer loop runs (it clears this itself, in the same tick as it sees the queues empty). */
  private writing = false
  private writer: Promise<void> = Promise.resolve()
  /** Operations whose intent was a fence, still open. */
  private readonly fenceOps = new Set<string>()
  /** Open intents: op id -> intent and the nodes still without a result. */
  private readonly open = new Map<string, { intent: IntentRecord; waiting: Set<string> }>()
  private readonly lockPath: string
  private readonly syncDir: (dir: string) => Promise<void>
  /** History index, oldest first, and by `op\0node`. */
  private entries: Indexed[] = []
  private readonly byKey = new Map<string, Indexed>()
  private seq = 0
  /** The current file does not end with a newline (a crash in the middle of a write). */
  private tornTail = false
  private gen = 0
  /** Intents found without a result at start-up (now closed with outcome unknown). */
  readonly recovered: HistoryEntry[] = []

  private constructor(
    private readonly cfg: JournalConfig,
    private readonly opts: JournalOptions,
  ) {
    this.lockPath = `${cfg.path}.lock`
    this.syncDir = opts.syncDir ?? fsyncDir
  }

  static async open(cfg: JournalConfig, opts: JournalOptions = {}): Promise<Journal> {
    const j = new Journal(cfg, opts)
    await mkdir(path.dirname(cfg.path), { recursive: true })
    await j.lock()
    try {
      await j.load()
      const created = !existsSync(cfg.path)
      j.fh = await open(cfg.path, 'a', 0o600)
      // a new file's name is on disk only once its directory is synced
      if (created) await j.syncDir(path.dirname(cfg.path))
      j.size = (await j.fh.stat()).size
      if (j.tornTail) {
        // a crash cut the last line: end it, so the next record starts on a line of its own
        await writeAll(j.fh, Buffer.from('\n'))
        j.size += 1
      }
      const ts = new Date().toISOString()
      // one batch, one sync: the last append of the loop carries it
      const last = j.recovered.length - 1
      const written = j.recovered.map((e, i) =>
        j.append(
          { t: 'result', op: e.op, ts, node: e.node, outcome: 'unknown', recovered: true },
          i === last,
        ),
      )
      await Promise.all(written)
    } catch (e) {
      while (j.writing) await j.writer
      await j.fh?.close().catch(() => {})
      j.unlock()
      throw e
    }
    return j
  }

  // ---- the lock ---------------------------------------------------------------------------

  /**
   * Take the lock: link a file already holding our pid to `<journal>.lock` (atomic: a reader
   * never sees an empty lock). A lock whose process is gone is taken over under a second lock,
   * `<journal>.lock.break`, after checking again that it is still the same stale lock: two
   * processes taking over at once never both win, and neither deletes a lock the other just took.
   */
  private async lock(): Promise<void> {
    const mine = `${this.lockPath}.${process.pid}.${randomBytes(4).toString('hex')}`
    const breaker = `${this.lockPath}.break`
    try {
      writeFileSync(mine, `${process.pid}\n`, { mode: 0o600 })
      for (let attempt = 0; attempt < 4; attempt++) {
        if (tryLink(mine, this.lockPath)) return
        const stale = readLock(this.lockPath)
        if (!stale) continue // released meanwhile: try again
        this.refuseIfHeld(stale.pid)
        await this.opts.beforeTakeover?.()
        if (!tryLink(mine, breaker)) {
          const b = readLock(breaker)
          if (b && b.pid !== process.pid && isAlive(b.pid))
            throw new FenceError(
              'JOURNAL_LOCKED',
              `journal ${this.cfg.path}: process ${b.pid} is taking over its stale lock`,
            )
          // left by a process that died in the middle of a takeover
          if (b) rmSync(breaker, { force: true })
          continue
        }
        try {
          const now = readLock(this.lockPath)
          // still the lock we judged stale (same file): remove it; otherwise someone took it
          if (now && now.ino === stale.ino && now.pid === stale.pid) rmSync(this.lockPath, { force: true })
          if (tryLink(mine, this.lockPath)) return
        } finally {
          rmSync(breaker, { force: true })
        }
      }
      const holder = readLock(this.lockPath)
      if (holder) this.refuseIfHeld(holder.pid)
      throw new FenceError('JOURNAL_LOCKED', `journal ${this.cfg.path}: could not take the lock`)
    } catch (e) {
      if (e instanceof FenceError) throw e
      throw new FenceError('JOURNAL_IO', `journal lock ${this.lockPath}: ${(e as Error).message}`)
    } finally {
      rmSync(mine, { force: true })
    }
  }

  private refuseIfHeld(pid: number): void {
    if (pid === process.pid)
      throw new FenceError('JOURNAL_LOCKED', `journal ${this.cfg.path} is already open in this process`)
    if (isAlive(pid))
      throw new FenceError(
        'JOURNAL_LOCKED',
        `journal ${this.cfg.path} is in use by process ${pid} (a running gateway?): use --url to talk to it instead of running a second engine`,
      )
  }

  private unlock(): void {
    // only our own lock (never one another process took after a failed open)
    if (readLock(this.lockPath)?.pid === process.pid) rmSync(this.lockPath, { force: true })
  }

  // ---- reading at open --------------------------------------------------------------------

  /** Files oldest first, with their generation: journal.jsonl.N (-N) … .1 (-1), journal.jsonl (0). */
  private files(): { file: string; gen: number }[] {
    const out: { file: string; gen: number }[] = []
    for (let i = this.cfg.keep; i >= 1; i--)
      if (existsSync(`${this.cfg.path}.${i}`)) out.push({ file: `${this.cfg.path}.${i}`, gen: -i })
    if (existsSync(this.cfg.path)) out.push({ file: this.cfg.path, gen: 0 })
    return out
  }

  /** Build the history index from the files; intents left without a result become `recovered`. */
  private async load(): Promise<void> {
    const waiting = new Map<string, { intent: IntentRecord; waiting: Set<string> }>()
    for (const { file, gen } of this.files()) {
      let text: string
      try {
        text = await readFile(file, 'utf8')
      } catch {
        continue
      }
      if (gen === 0) this.tornTail = text.length > 0 && !text.endsWith('\n')
      for (const line of text.split('\n')) {
        if (!line) continue
        let r: JournalRecord
        try {
          r = JSON.parse(line) as JournalRecord
        } catch {
          continue // a torn last line after a crash: the intent before it still counts
        }
        if (r.t === 'intent') {
          if (!waiting.has(r.op)) waiting.set(r.op, { intent: r, waiting: new Set(r.nodes) })
          this.indexIntent(r, 'unknown', gen)
        } else if (r.t === 'result') {
          const o = waiting.get(r.op)
          o?.waiting.delete(r.node)
          if (o && o.waiting.size === 0) waiting.delete(r.op)
          this.indexResult(r)
        }
      }
    }
    for (const { intent, waiting: nodes } of waiting.values())
      for (const node of nodes) {
        const e = this.byKey.get(key(intent.op, node))
        if (e) this.recovered.push(publicEntry(e))
      }
  }

  // ---- the index --------------------------------------------------------------------------

  private indexIntent(r: IntentRecord, outcome: HistoryOutcome, gen: number): void {
    const first = this.byKey.get(key(r.op, r.nodes[0] ?? ''))
    if (first) {
      // a carried copy: the intent now lives in a newer file
      for (const node of r.nodes) {
        const e = this.byKey.get(key(r.op, node))
        if (e) e.gen = gen
      }
      return
    }
    const t = Date.parse(r.ts)
    for (const node of r.nodes) {
      const e: Indexed = {
        op: r.op,
        kind: r.kind,
        action: r.action,
        node,
        initiator: r.initiator,
        startedAt: r.ts,
        outcome,
        seq: ++this.seq,
        gen,
        t,
      }
      this.entries.push(e)
      this.byKey.set(key(r.op, node), e)
    }
    if (this.entries.length > MAX_INDEXED * 1.1) this.trim((_e, i) => i >= this.entries.length - MAX_INDEXED)
  }

  private indexResult(r: Extract<JournalRecord, { t: 'result' }>): void {
    const e = this.byKey.get(key(r.op, r.node))
    if (!e) return
    e.outcome = r.outcome
    e.finishedAt = r.ts
    if (r.level !== undefined) e.level = r.level
    if (r.onVerified !== undefined) e.onVerified = r.onVerified
    if (r.error) e.error = r.error
    if (r.confirmation) e.confirmation = r.confirmation
  }

  private trim(keep: (e: Indexed, i: number) => boolean): void {
    const kept: Indexed[] = []
    this.entries.forEach((e, i) => {
      if (keep(e, i)) kept.push(e)
      else this.byKey.delete(key(e.op, e.node))
    })
    this.entries = kept
  }

  // ---- writing ----------------------------------------------------------------------------

  /**
   * Append; with `sync`, resolve only once the record is on disk. Records are written in the
   * order they are appended, except that fence records (a fence intent, the steps and results
   * of a fence operation) go ahead of other records still waiting; `opts.fence` overrides that
   * guess (e.g. a heartbeat event about a fence).
   */
  append(record: JournalRecord, sync: boolean, opts: { fence?: boolean } = {}): Promise<void> {
    let fence = opts.fence ?? false
    if (record.t === 'intent') {
      if (!record.carried) {
        this.open.set(record.op, { intent: record, waiting: new Set(record.nodes) })
        this.indexIntent(record, 'running', this.gen)
      }
      if (record.kind === 'fence' || record.kind === 'confirm') this.fenceOps.add(record.op)
      fence ||= record.kind === 'fence' || record.kind === 'confirm'
    } else if (record.t === 'step' || record.t === 'result') {
      fence ||= this.fenceOps.has(record.op)
      if (record.t === 'result') {
        this.indexResult(record)
        const o = this.open.get(record.op)
        o?.waiting.delete(record.node)
        if (o && o.waiting.size === 0) {
          this.open.delete(record.op)
          this.fenceOps.delete(record.op)
        }
      }
    }
    return new Promise<void>((resolve, reject) => {
      const p: Pending = { line: `${JSON.stringify(record)}\n`, sync, resolve, reject }
      ;(fence ? this.fenceQueue : this.otherQueue).push(p)
      if (!this.writing) {
        this.writing = true
        this.writer = this.drain()
      }
    })
  }

  /** The one writer: batches of waiting records, one write and at most one fdatasync each. */
  private async drain(): Promise<void> {
    // let every append of this tick join the first batch
    await Promise.resolve()
    while (this.fenceQueue.length + this.otherQueue.length > 0) {
      const batch = this.fenceQueue.splice(0, MAX_BATCH)
      if (batch.length < MAX_BATCH) batch.push(...this.otherQueue.splice(0, MAX_BATCH - batch.length))
      try {
        const fh = this.fh
        if (!fh) throw new Error('journal is closed')
        const buf = Buffer.from(batch.map((p) => p.line).join(''))
        await writeAll(fh, buf)
        this.size += buf.length
        if (batch.some((p) => p.sync)) await fh.datasync()
        if (this.size > this.cfg.maxBytes) await this.rotate()
      } catch (e) {
        const err = new FenceError('JOURNAL_IO', `journal ${this.cfg.path}: ${(e as Error).message}`)
        for (const p of batch) p.reject(err)
        continue
      }
      for (const p of batch) p.resolve()
    }
    this.writing = false
  }

  private async rotate(): Promise<void> {
    await this.fh?.sync()
    await this.fh?.close()
    this.fh = undefined
    const p = this.cfg.path
    rmSync(`${p}.${this.cfg.keep}`, { force: true })
    for (let i = this.cfg.keep - 1; i >= 1; i--)
      if (existsSync(`${p}.${i}`)) renameSync(`${p}.${i}`, `${p}.${i + 1}`)
    renameSync(p, `${p}.1`)
    const fh = await open(p, 'a', 0o600)
    this.size = 0
    this.gen++
    let carried = ''
    for (const { intent } of this.open.values()) {
      carried += `${JSON.stringify({ ...intent, carried: true })}\n`
      for (const node of intent.nodes) {
        const e = this.byKey.get(key(intent.op, node))
        if (e) e.gen = this.gen
      }
    }
    const buf = Buffer.from(carried)
    await writeAll(fh, buf)
    this.size += buf.length
    await fh.sync()
    // the renames and the new file are on disk only once the directory is synced
    await this.syncDir(path.dirname(p))
    this.fh = fh
    // entries whose intent was in the file just dropped
    const oldest = this.gen - this.cfg.keep
    this.trim((e) => e.gen >= oldest)
  }

  // ---- queries ----------------------------------------------------------------------------

  /** History, newest first: one entry per (operation, node), from the in-memory index. */
  async history(q: JournalHistoryQuery): Promise<HistoryEntry[]> {
    let end = this.entries.length
    if (q.before !== undefined) {
      const at = this.byKey.get(decodeCursor(q.before))
      if (!at)
        throw new FenceError(
          'BAD_REQUEST',
          `before: cursor ${JSON.stringify(q.before)} is not in the journal (rotated away, or from another gateway run): start again without it`,
          { field: 'before' },
        )
      end = lowerBound(this.entries, at.seq)
    }
    const since = q.since?.getTime() ?? Number.NEGATIVE_INFINITY
    const until = q.until?.getTime() ?? Number.POSITIVE_INFINITY
    const nodes = q.nodes ? new Set(q.nodes) : undefined
    const limit = q.limit ?? 1000
    const out: HistoryEntry[] = []
    // this array, even if a rotation replaces it while we yield
    const entries = this.entries
    for (let i = end - 1; i >= 0 && out.length < limit; i--) {
      // a long scan (a rare node, a narrow time range) lets timers and I/O run between slices
      if ((end - i) % YIELD_EVERY === 0) await new Promise((r) => setImmediate(r))
      const e = entries[i]!
      if (q.node !== undefined && e.node !== q.node) continue
      if (nodes && !nodes.has(e.node)) continue
      if (q.outcome !== undefined && e.outcome !== q.outcome) continue
      if (e.t < since || e.t > until) continue
      out.push(publicEntry(e))
    }
    return out
  }

  async close(): Promise<void> {
    while (this.writing) await this.writer
    await this.fh?.sync().catch(() => {})
    await this.fh?.close()
    this.fh = undefined
    this.unlock()
  }

  get file(): string {
    return this.cfg.path
  }
}

/** The paging cursor of an entry: give it as `before` to get the entries older than it. */
export function historyCursor(e: Pick<HistoryEntry, 'op' | 'node'>): string {
  return Buffer.from(key(e.op, e.node)).toString('base64url')
}

function decodeCursor(c: string): string {
  return Buffer.from(c, 'base64url').toString()
}

function key(op: string, node: string): string {
  return `${op}\u0000${node}`
}

function publicEntry(e: Indexed): HistoryEntry {
  const { seq: _s, gen: _g, t: _t, ...rest } = e
  return { ...rest, ...(e.error ? { error: { ...e.error } } : {}) }
}

/** Index of the first entry with seq >= `seq` (entries are in seq order). */
function lowerBound(entries: Indexed[], seq: number): number {
  let lo = 0
  let hi = entries.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (entries[mid]!.seq < seq) lo = mid + 1
    else hi = mid
  }
  return lo
}

async function writeAll(fh: FileHandle, buf: Buffer): Promise<void> {
  let off = 0
  while (off < buf.length) {
    const { bytesWritten } = await fh.write(buf, off, buf.length - off)
    off += bytesWritten
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try {
    await fh.sync()
  } catch (e) {
    // some systems cannot sync a directory (EINVAL, EISDIR): nothing more to do there
    const code = (e as NodeJS.ErrnoException).code
    if (code !== 'EINVAL' && code !== 'EISDIR') throw e
  } finally {
    await fh.close()
  }
}

function tryLink(from: string, to: string): boolean {
  try {
    linkSync(from, to)
    return true
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw e
  }
}

/** The pid in a lock file and the file's inode; undefined when there is no such file. */
function readLock(file: string): { pid: number; ino: number } | undefined {
  try {
    const ino = statSync(file).ino
    return { pid: Number(readFileSync(file, 'utf8').trim()) || 0, ino }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw e
  }
}

function isAlive(pid: number): boolean {
  if (!pid) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}
