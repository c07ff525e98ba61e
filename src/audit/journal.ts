import {
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs'
import { type FileHandle, mkdir, open, readFile } from 'node:fs/promises'
import path from 'node:path'
import { FenceError } from '../core/errors.js'
import type { Initiator } from '../core/types.js'
import type { JournalConfig } from '../config/config.js'
import type {
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
      outcome: 'issued' | 'ok' | 'failed'
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
      error?: { code: string; message: string }
      /** Written at start-up for an intent the previous run left without a result. */
      recovered?: boolean
    }
  | { t: 'event'; ts: string; source: string; event: string; fields?: Record<string, unknown> }

type IntentRecord = Extract<JournalRecord, { t: 'intent' }>

/**
 * The append-only journal (rule 8): JSON lines, an intent synced to disk before any device is
 * touched, a result after. One writer: a lock file beside the journal holds the writer's pid.
 * Size bound: past `maxBytes` the file is rotated (journal.jsonl -> .1 -> .2 …, `keep` kept)
 * and every intent still open is carried into the new file first, so rotation never drops one.
 */
export class Journal {
  private fh: FileHandle | undefined
  private size = 0
  private chain: Promise<unknown> = Promise.resolve()
  /** Open intents: op id -> intent and the nodes still without a result. */
  private readonly open = new Map<string, { intent: IntentRecord; waiting: Set<string> }>()
  private readonly lockPath: string
  /** Intents found without a result at start-up (now closed with outcome unknown). */
  readonly recovered: HistoryEntry[] = []

  private constructor(private readonly cfg: JournalConfig) {
    this.lockPath = `${cfg.path}.lock`
  }

  static async open(cfg: JournalConfig): Promise<Journal> {
    const j = new Journal(cfg)
    await mkdir(path.dirname(cfg.path), { recursive: true })
    j.lock()
    try {
      await j.recover()
      j.fh = await open(cfg.path, 'a', 0o600)
      j.size = (await j.fh.stat()).size
      const ts = new Date().toISOString()
      for (const e of j.recovered)
        await j.write({ t: 'result', op: e.op, ts, node: e.node, outcome: 'unknown', recovered: true }, false)
      if (j.recovered.length) await j.fh.sync()
    } catch (e) {
      j.unlock()
      throw e
    }
    return j
  }

  private lock(): void {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(this.lockPath, 'wx', 0o600)
        writeSync(fd, `${process.pid}\n`)
        closeSync(fd)
        return
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST')
          throw new FenceError('JOURNAL_IO', `journal lock ${this.lockPath}: ${(e as Error).message}`)
        const pid = Number(readFileSync(this.lockPath, 'utf8').trim())
        if (pid && pid !== process.pid && isAlive(pid))
          throw new FenceError(
            'JOURNAL_LOCKED',
            `journal ${this.cfg.path} is in use by process ${pid} (a running gateway?): use --url to talk to it instead of running a second engine`,
          )
        if (pid === process.pid)
          throw new FenceError('JOURNAL_LOCKED', `journal ${this.cfg.path} is already open in this process`)
        rmSync(this.lockPath, { force: true }) // stale: its writer is gone
      }
    }
    throw new FenceError('JOURNAL_LOCKED', `journal ${this.cfg.path}: could not take the lock`)
  }

  private unlock(): void {
    rmSync(this.lockPath, { force: true })
  }

  /** Files oldest first: journal.jsonl.N … .1, journal.jsonl. */
  private files(): string[] {
    const out: string[] = []
    for (let i = this.cfg.keep; i >= 1; i--)
      if (existsSync(`${this.cfg.path}.${i}`)) out.push(`${this.cfg.path}.${i}`)
    if (existsSync(this.cfg.path)) out.push(this.cfg.path)
    return out
  }

  private async recover(): Promise<void> {
    const open = new Map<string, { intent: IntentRecord; waiting: Set<string> }>()
    for await (const r of this.records()) {
      if (r.t === 'intent') open.set(r.op, { intent: r, waiting: new Set(r.nodes) })
      else if (r.t === 'result') {
        const o = open.get(r.op)
        o?.waiting.delete(r.node)
        if (o && o.waiting.size === 0) open.delete(r.op)
      }
    }
    for (const { intent, waiting } of open.values())
      for (const node of waiting)
        this.recovered.push({
          op: intent.op,
          kind: intent.kind,
          action: intent.action,
          node,
          initiator: intent.initiator,
          startedAt: intent.ts,
          outcome: 'unknown',
        })
  }

  private async *records(): AsyncGenerator<JournalRecord> {
    for (const file of this.files()) {
      let text: string
      try {
        text = await readFile(file, 'utf8')
      } catch {
        continue
      }
      for (const line of text.split('\n')) {
        if (!line) continue
        try {
          yield JSON.parse(line) as JournalRecord
        } catch {
          // a torn last line after a crash: the intent before it still counts
        }
      }
    }
  }

  /** Append; with `sync`, resolve only once the record is on disk. Writes are serialised. */
  append(record: JournalRecord, sync: boolean): Promise<void> {
    if (record.t === 'intent') this.open.set(record.op, { intent: record, waiting: new Set(record.nodes) })
    if (record.t === 'result') {
      const o = this.open.get(record.op)
      o?.waiting.delete(record.node)
      if (o && o.waiting.size === 0) this.open.delete(record.op)
    }
    const p = this.chain.then(() => this.write(record, sync))
    this.chain = p.catch(() => {})
    return p
  }

  private async write(record: JournalRecord, sync: boolean): Promise<void> {
    const fh = this.fh
    if (!fh) throw new FenceError('JOURNAL_IO', 'journal is closed')
    const line = `${JSON.stringify(record)}\n`
    try {
      await fh.write(line)
      this.size += Buffer.byteLength(line)
      if (sync) await fh.datasync()
    } catch (e) {
      throw new FenceError('JOURNAL_IO', `journal ${this.cfg.path}: ${(e as Error).message}`)
    }
    if (this.size > this.cfg.maxBytes) await this.rotate()
  }

  private async rotate(): Promise<void> {
    await this.fh?.sync()
    await this.fh?.close()
    const p = this.cfg.path
    rmSync(`${p}.${this.cfg.keep}`, { force: true })
    for (let i = this.cfg.keep - 1; i >= 1; i--)
      if (existsSync(`${p}.${i}`)) renameSync(`${p}.${i}`, `${p}.${i + 1}`)
    renameSync(p, `${p}.1`)
    this.fh = await open(p, 'a', 0o600)
    this.size = 0
    for (const { intent } of this.open.values()) {
      const line = `${JSON.stringify({ ...intent, carried: true })}\n`
      await this.fh.write(line)
      this.size += Buffer.byteLength(line)
    }
    await this.fh.sync()
  }

  /** History, newest first: one entry per (operation, node). */
  async history(q: HistoryQuery): Promise<HistoryEntry[]> {
    await this.chain
    const byKey = new Map<string, HistoryEntry>()
    const intents = new Map<string, IntentRecord>()
    for await (const r of this.records()) {
      if (r.t === 'intent') {
        if (intents.has(r.op)) continue // carried copy
        intents.set(r.op, r)
        for (const node of r.nodes)
          byKey.set(`${r.op}\u0000${node}`, {
            op: r.op,
            kind: r.kind,
            action: r.action,
            node,
            initiator: r.initiator,
            startedAt: r.ts,
            outcome: 'unknown',
          })
      } else if (r.t === 'result') {
        const e = byKey.get(`${r.op}\u0000${r.node}`)
        if (!e) continue
        e.outcome = r.outcome
        e.finishedAt = r.ts
        if (r.level !== undefined) e.level = r.level
        if (r.onVerified !== undefined) e.onVerified = r.onVerified
        if (r.error) e.error = r.error
      }
    }
    for (const [op, { waiting }] of this.open)
      for (const node of waiting) {
        const e = byKey.get(`${op}\u0000${node}`)
        if (e && e.outcome === 'unknown') e.outcome = 'running'
      }
    const since = q.since?.getTime() ?? Number.NEGATIVE_INFINITY
    const until = q.until?.getTime() ?? Number.POSITIVE_INFINITY
    const out = [...byKey.values()].filter((e) => {
      const t = Date.parse(e.startedAt)
      return (
        (!q.node || e.node === q.node) && (!q.outcome || e.outcome === q.outcome) && t >= since && t <= until
      )
    })
    out.reverse()
    return out.slice(0, q.limit ?? 1000)
  }

  async close(): Promise<void> {
    await this.chain
    await this.fh?.sync().catch(() => {})
    await this.fh?.close()
    this.fh = undefined
    this.unlock()
  }

  get file(): string {
    return this.cfg.path
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}
