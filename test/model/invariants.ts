/**
 * The invariants the model checker holds every run to, judged from the trace: what the devices
 * really saw (the plant's call log), what the engine journaled, and what each caller was told.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { Journal } from '../../src/audit/journal.js'
import type { PlugRef } from '../../core/types.js'
import type { Operation } from '../../src/engine/types.js'
import {
  type CallRecord,
  type EngineLife,
  type Trace,
  journalFiles,
  openIntents,
  parseJournal,
  pausedDuring,
  stalePid,
} from './run-scenario.js'
import type { DriverCall } from './sim-device.js'

/** Slack on every deadline: the machine is shared and noisy; only a hang should trip it. */
export const SLACK_MS = Number(process.env.MODEL_SLACK_MS ?? 1500)

export interface Violation {
  invariant:
    | 'one-call-per-device'
    | 'deadline'
    | 'answer'
    | 'attempts-listed'
    | 'read-back'
    | 'unknown-never-off'
    | 'fence-verified-off'
    | 'fence-hold'
    | 'usable-after-heal'
    | 'journal'
    // replica mode (replica-run.ts)
    | 'one-session-per-device'
    | 'orphan-rerun'
  detail: string
}

const key = (r: PlugRef) => `${r.device}:${r.plug}`
const f1 = (n: number | undefined) => (n === undefined ? '-' : n.toFixed(1))

function describeCall(c: DriverCall): string {
  return `#${c.id} e${c.engine} ${c.device} ${c.kind}${c.action ? ` ${c.action}` : ''} [${c.plugs}] ${c.fault} start ${f1(c.start)} reached ${f1(c.reached)} end ${f1(c.end)}${c.result ? ` -> ${JSON.stringify(c.result)}` : ''}${c.error ? ` !${c.error}` : ''}`
}

/** The synchronous invariants over one trace. */
export function checkTrace(t: Trace): Violation[] {
  const out: Violation[] = []
  const v = (invariant: Violation['invariant'], detail: string) => out.push({ invariant, detail })
  const calls = t.plant.calls
  const lifeOf = (no: number) => t.lives.find((l) => l.no === no)

  // 1. at most one driver call in flight per device, ever (counted until its promise settles)
  for (const o of t.plant.overlaps)
    v(
      'one-call-per-device',
      `${o.device}: calls ${o.calls.join(',')} in flight together at ${f1(o.at)}: ${o.calls
        .map((id) => describeCall(calls.find((c) => c.id === id)!))
        .join(' | ')}`,
    )

  // when each operation started (a joined fence's caller came later than the operation)
  const opStart = new Map<string, number>()
  for (const life of t.lives)
    for (const r of life.records) if (r.rec.t === 'intent') opStart.set(r.rec.op, r.at)

  const statusReads = (engine: number, plug: PlugRef, from: number, to: number, state: string) =>
    calls.filter(
      (c) =>
        c.engine === engine &&
        c.device === plug.device &&
        c.kind === 'status' &&
        c.result?.[plug.plug] === state &&
        c.start >= from &&
        c.end !== undefined &&
        c.end <= to,
    )

  for (const rec of t.calls) {
    const what = `${JSON.stringify(rec.op)} by ${rec.role} on engine ${rec.engine}`
    // 2. every operation answers by its deadline
    if (rec.end === undefined) v('deadline', `${what}: never answered`)
    else if (rec.end - rec.start > rec.timeoutMs + SLACK_MS + pausedDuring(rec.start, rec.end))
      v(
        'deadline',
        `${what}: answered after ${Math.round(rec.end - rec.start)}ms, deadline ${rec.timeoutMs}ms (the process was paused ${Math.round(pausedDuring(rec.start, rec.end))}ms meanwhile)`,
      )
    if (rec.error) {
      const life = lifeOf(rec.engine)
      // admission refusals are answers: a hold (any power request while a fence runs, `on`
      // after one), an engine that closed while the request was under way, and a fence whose caller's deadline ended while it waited
      // for another fence of the node
      const hold = rec.error.code === 'FENCE_HOLD' && rec.op.t === 'power'
      const closed =
        rec.error.code === 'ENGINE_CLOSED' &&
        life?.end !== undefined &&
        life.end <= (rec.end ?? Number.POSITIVE_INFINITY)
      const gaveUp =
        rec.op.t === 'fence' && (rec.error.code === 'DEADLINE_EXCEEDED' || rec.error.code === 'ABORTED')
      // a confirmation with no fence waiting or failed is refused: an answer
      const nothing = rec.op.t === 'confirm' && rec.error.code === 'NOTHING_TO_CONFIRM'
      // replica mode: a replica cut off from etcd answers 503 until it holds a lease again
      const cutOff =
        rec.error.code === 'COORDINATION_UNAVAILABLE' &&
        (t.unavailable ?? []).some(
          (w) =>
            w.engine === rec.engine && w.from <= (rec.end ?? Number.POSITIVE_INFINITY) && rec.start <= w.to,
        )
      if (!hold && !closed && !gaveUp && !nothing && !cutOff)
        v('answer', `${what}: rejected ${rec.error.code}: ${rec.error.message}`)
    }
    const end = rec.end ?? Number.POSITIVE_INFINITY
    if (rec.operation) checkOperation(t, rec, rec.operation, opStart, end, statusReads, v)
    if (rec.statuses)
      for (const ns of rec.statuses) {
        const nodeCfg = t.layout.nodes.find((n) => n.name === ns.node)!
        for (const ps of ns.plugs)
          if (ps.state !== 'unknown' && !statusReads(rec.engine, ps, rec.start, end, ps.state).length)
            v(
              'read-back',
              `${what}: ${ns.node} ${key(ps)} reported ${ps.state} with no such device read in the call`,
            )
        const st = (r: PlugRef) => ns.plugs.find((p) => key(p) === key(r))?.state ?? 'unknown'
        if (ns.state === 'off' && !nodeCfg.levels.some((lv) => lv.every((r) => st(r) === 'off')))
          v('unknown-never-off', `${what}: ${ns.node} reported off, plugs ${JSON.stringify(ns.plugs)}`)
        if (ns.state === 'on' && !nodeCfg.levels.flat().some((r) => st(r) === 'on'))
          v('read-back', `${what}: ${ns.node} reported on, plugs ${JSON.stringify(ns.plugs)}`)
      }
  }

  // 5. after the faults clear, reads reach the devices again (replica mode: on every live replica)
  const finals = t.finalEngines ?? (t.lives.length ? [t.lives.at(-1)!.no] : [])
  for (const no of finals) checkFinal(t, lifeOf(no), v)

  checkJournalOrder(t, v)
  return out
}

function checkFinal(
  t: Trace,
  last: EngineLife | undefined,
  v: (i: Violation['invariant'], d: string) => void,
): void {
  const calls = t.plant.calls
  const finalStatus = t.calls.find((c) => c.op.t === 'final-status' && c.engine === last?.no)
  if (last && t.healAt !== undefined) {
    if (!finalStatus) v('usable-after-heal', 'no final status read was made')
    else {
      if (finalStatus.error) v('usable-after-heal', `final status rejected: ${finalStatus.error.message}`)
      for (const ns of finalStatus.statuses ?? [])
        for (const ps of ns.plugs)
          if (ps.state === 'unknown')
            v(
              'usable-after-heal',
              `after the faults cleared ${key(ps)} still reads unknown: ${ps.error?.message}`,
            )
      for (const d of t.layout.devices)
        if (
          !calls.some(
            (c) => c.engine === last.no && c.device === d.id && c.kind === 'status' && c.start >= t.healAt!,
          )
        )
          v('usable-after-heal', `after the faults cleared no status read reached device ${d.id}`)
    }
    for (const p of t.calls.filter((c) => c.op.t === 'final-probe' && c.engine === last.no))
      if (p.health?.state !== 'ok')
        v(
          'usable-after-heal',
          `probe of ${p.health?.id} after the faults cleared: ${JSON.stringify(p.health?.lastError)}`,
        )
  }
}

function checkJournalOrder(t: Trace, v: (i: Violation['invariant'], d: string) => void): void {
  // 6. journal: intent on disk before the device is touched; every answered operation journaled
  for (const life of t.lives)
    for (const r of life.records)
      if (r.rec.t === 'step') {
        const synced = life.intentSynced.get(r.rec.op)
        if (synced === undefined || synced > r.at)
          v(
            'journal',
            `engine ${life.no}: step ${r.rec.step} of ${r.rec.op} issued before its intent was on disk`,
          )
      }
  for (const p of t.problems) v('journal', p)
}

function checkOperation(
  t: Trace,
  rec: CallRecord,
  op: Operation,
  opStart: Map<string, number>,
  end: number,
  statusReads: (engine: number, plug: PlugRef, from: number, to: number, state: string) => DriverCall[],
  v: (i: Violation['invariant'], d: string) => void,
): void {
  const life = t.lives.find((l) => l.no === rec.engine)!
  const start = opStart.get(op.id) ?? rec.start
  const what = `${op.kind} ${op.action} ${op.id.slice(0, 8)} by ${rec.role} on engine ${rec.engine}`
  const calls = t.plant.calls
  for (const r of op.results) {
    const node = t.layout.nodes.find((n) => n.name === r.node)!
    // every step the engine journaled as issued is listed among the node's attempts (a joiner
    // answered before the fence it joined ended gets no attempts: the fence goes on, under its id)
    const early =
      r.joined &&
      r.outcome === 'failed' &&
      (r.error?.code === 'ABORTED' || r.error?.code === 'DEADLINE_EXCEEDED')
    if (!early)
      for (const s of life.records)
        if (s.rec.t === 'step' && s.rec.op === op.id && s.rec.node === r.node && s.at <= end) {
          const st = s.rec
          if (
            !r.attempts.some(
              (a) =>
                a.device === st.device && a.plug === st.plug && a.step === st.step && a.level === st.level,
            )
          )
            v(
              'attempts-listed',
              `${what}: ${r.node}${r.joined ? ' (joined)' : ''}: ${st.step} ${st.device}:${st.plug} (level ${st.level}) issued before the answer but not in its attempts (${r.outcome} ${r.error?.code ?? ''} ${r.error?.message ?? ''})`,
            )
        }
    // no result says on/off that was not read back
    if (
      r.state === 'off' &&
      !node.levels.some((lv) => lv.every((p) => statusReads(rec.engine, p, start, end, 'off').length))
    )
      v(
        'read-back',
        `${what}: ${r.node} reported off without every plug of a level read off during the operation`,
      )
    if (
      r.state === 'on' &&
      !node.levels.flat().some((p) => statusReads(rec.engine, p, start, end, 'on').length)
    )
      v('read-back', `${what}: ${r.node} reported on without a plug read on during the operation`)
    // meatware: a confirmation is a person's word, never a read-back, and only a fencer's
    if (r.outcome === 'confirmed-by-operator') {
      if (r.state !== 'unknown' || !r.confirmation)
        v('read-back', `${what}: ${r.node} confirmed by hand but presented as state ${r.state}`)
      const asked = t.calls.some(
        (c) => c.op.t === 'confirm' && c.role === 'fencer' && c.nodes.includes(r.node) && c.start <= end,
      )
      if (!asked) v('read-back', `${what}: ${r.node} confirmed-by-operator without any confirm request`)
    }
    const offLike = op.action === 'off' || (op.kind === 'fence' && op.action === 'reboot')
    if (r.outcome === 'success' && offLike && r.level === undefined)
      v('read-back', `${what}: ${r.node} succeeded without a level`)
    if (r.outcome === 'success' && op.action === 'off' && r.state !== 'off')
      v('unknown-never-off', `${what}: ${r.node} off succeeded with state ${r.state}`)
    if (r.outcome !== 'success' || !offLike || r.level === undefined) continue
    // a successful off/fence: each plug of the level read off after its last set completed
    const level = node.levels[r.level - 1] ?? []
    let windowStart = Number.POSITIVE_INFINITY
    let verified = true
    for (const p of level) {
      const ok = statusReads(rec.engine, p, start, end, 'off').filter((s) =>
        calls.every(
          (c) =>
            c.kind !== 'set' ||
            c.device !== p.device ||
            c.plugs[0] !== p.plug ||
            c.start >= s.start ||
            (c.end !== undefined && c.end <= s.start),
        ),
      )
      if (!ok.length) {
        verified = false
        const sets = calls.filter(
          (c) => c.kind === 'set' && c.device === p.device && c.plugs[0] === p.plug && c.start < end,
        )
        v(
          'fence-verified-off',
          `${what}: ${r.node} level ${r.level} ${key(p)} never read off by a read issued after its last set completed; sets: ${sets.map(describeCall).join(' | ')}`,
        )
      } else windowStart = Math.min(windowStart, Math.max(...ok.map((s) => s.start)))
    }
    if (!verified || op.kind !== 'fence') continue
    // ... and no non-fencer `on` reached the node's devices from then until the hold ended
    const resultAt =
      life.records.find((x) => x.rec.t === 'result' && x.rec.op === op.id && x.rec.node === r.node)?.at ?? end
    const windowEnd = Math.min(
      resultAt + t.scenario.settings.fenceHoldMs,
      life.end ?? Number.POSITIVE_INFINITY,
    )
    const plugs = new Set(node.levels.flat().map(key))
    for (const c of calls) {
      if (c.kind !== 'set' || (c.action !== 'on' && c.action !== 'cycle')) continue
      if (c.engine !== rec.engine && !t.shared) continue
      if (!plugs.has(`${c.device}:${c.plugs[0]}`) || c.reached === undefined) continue
      if (c.reached < windowStart || c.reached > windowEnd) continue
      const who = issuers(t.lives.find((l) => l.no === c.engine) ?? life, c)
      if (who.some((w) => w.role === 'fencer')) continue
      v(
        'fence-hold',
        `${what}: ${r.node} verified off (read from ${windowStart.toFixed(1)}, result ${resultAt.toFixed(1)}, hold to ${windowEnd.toFixed(1)}) but ${describeCall(c)} reached the device, issued by ${who.length ? who.map((w) => `${w.kind} ${w.action} ${w.op.slice(0, 8)} (${w.role})`).join(', ') : 'no journaled operation'}`,
      )
    }
  }
}

/** The operations that had issued this set's step and were not finished when the call started. */
function issuers(
  life: EngineLife,
  c: DriverCall,
): { op: string; role: string; kind: string; action: string }[] {
  const out: { op: string; role: string; kind: string; action: string }[] = []
  for (const s of life.records) {
    const st = s.rec
    if (st.t !== 'step' || s.at > c.start) continue
    if (st.device !== c.device || st.plug !== c.plugs[0] || st.step !== c.action) continue
    const done = life.records.find(
      (x) => x.rec.t === 'result' && x.rec.op === st.op && x.rec.node === st.node,
    )
    if (done && done.at < c.start) continue
    const intent = life.records.find((x) => x.rec.t === 'intent' && x.rec.op === st.op)?.rec
    if (intent?.t === 'intent')
      out.push({ op: st.op, role: intent.initiator.role, kind: intent.kind, action: String(intent.action) })
  }
  return out
}

/**
 * The journal after the run: every intent paired with a result in every incarnation's files,
 * every answered operation present; and a crash at any byte of the final journal: recovery
 * reports exactly its open intents as unknown, keeps every intent, and what is written after
 * the torn tail survives the next start.
 */
export async function checkJournals(
  t: Trace,
  opts: { torn: boolean } = { torn: false },
): Promise<Violation[]> {
  const out: Violation[] = []
  const v = (detail: string) => out.push({ invariant: 'journal', detail })
  // replica mode: an operation joined on another replica is journaled by the replica that ran it
  const anyIntent = new Set<string>()
  if (t.shared)
    for (const life of t.lives)
      for (const r of parseJournal(journalFiles(life.journalPath), (f) => readFileSync(f, 'utf8')))
        if (r.t === 'intent') anyIntent.add(r.op)
  for (const life of t.lives) {
    const files = journalFiles(life.journalPath)
    const recs = parseJournal(files, (f) => readFileSync(f, 'utf8'))
    // a crashed replica's journal is a crash's: its open intents are what recovery reports
    if (!t.crashedAt?.has(life.no))
      for (const k of openIntents(recs)) v(`engine ${life.no}: intent ${k} has no result after a clean close`)
    const intents = new Set(recs.flatMap((r) => (r.t === 'intent' ? [r.op] : [])))
    for (const c of t.calls)
      if (
        c.engine === life.no &&
        c.operation &&
        !intents.has(c.operation.id) &&
        !anyIntent.has(c.operation.id)
      )
        v(
          `engine ${life.no}: operation ${c.operation.id} (${c.operation.kind} ${c.operation.action}${c.operation.results[0]?.joined ? ', joined' : ''}: ${c.operation.status} ${c.operation.results[0]?.error?.code ?? ''} ${c.operation.results[0]?.error?.message ?? ''}) answered but not in the journal`,
        )
  }
  // crash at any point: a byte prefix of the final journal (the newest file; older ones whole)
  const last = t.lives.at(-1)
  if (!last) return out
  const files = journalFiles(last.journalPath)
  const dir = path.join(t.dir, 'cut')
  mkdirSync(dir, { recursive: true })
  const target = path.join(dir, 'journal.jsonl')
  for (const f of files.slice(0, -1))
    copyFileSync(
      f,
      path.join(dir, path.basename(f).replace(path.basename(last.journalPath), 'journal.jsonl')),
    )
  const newest = files.length ? readFileSync(files.at(-1)!) : Buffer.alloc(0)
  let cutAt = Math.floor(t.scenario.cut * newest.length)
  // without torn tails the crash falls between two records (each line written whole)
  if (!opts.torn) cutAt = cutAt > 0 ? newest.lastIndexOf(10, cutAt - 1) + 1 : 0
  return [
    ...out,
    ...(await crashAt(target, newest.subarray(0, cutAt), `cut at byte ${cutAt} of ${newest.length}`)),
  ]
}

/**
 * A crash that left `bytes` as the newest journal file at `target` (older rotated files already
 * beside it): recovery reports exactly the open intents as unknown and keeps every intent, and
 * what the next gateway writes survives the start after it.
 */
export async function crashAt(target: string, bytes: Uint8Array, label: string): Promise<Violation[]> {
  const out: Violation[] = []
  const v = (detail: string) => out.push({ invariant: 'journal', detail: `${label}: ${detail}` })
  writeFileSync(target, bytes)
  writeFileSync(`${target}.lock`, `${stalePid()}\n`)
  const image = parseJournal(journalFiles(target), (f) => readFileSync(f, 'utf8'))
  const open = openIntents(image)
  const cfg = { path: target, maxBytes: 1e9, keep: 50 }
  const j = await Journal.open(cfg)
  const recovered = new Set(j.recovered.map((e) => `${e.op}/${e.node}`))
  for (const k of open) if (!recovered.has(k)) v(`open intent ${k} not recovered`)
  for (const k of recovered) if (!open.has(k)) v(`${k} recovered but it had a result`)
  const hist = new Map((await j.history({ limit: 1_000_000 })).map((h) => [`${h.op}/${h.node}`, h.outcome]))
  for (const r of image)
    if (r.t === 'intent')
      for (const n of r.nodes)
        if (!hist.has(`${r.op}/${n}`)) v(`intent ${r.op}/${n} lost from history`)
        else if (open.has(`${r.op}/${n}`) && hist.get(`${r.op}/${n}`) !== 'unknown')
          v(`interrupted ${r.op}/${n} shows ${hist.get(`${r.op}/${n}`)}`)
  // the next gateway writes after the torn tail: what it writes must survive a restart
  const probeOp = 'written-after-the-crash'
  await j.append(
    {
      t: 'intent',
      op: probeOp,
      ts: new Date().toISOString(),
      kind: 'fence',
      action: 'off',
      nodes: ['n1'],
      initiator: { name: 'model', role: 'fencer', via: 'model' },
    },
    true,
  )
  await j.close()
  writeFileSync(`${target}.lock`, `${stalePid()}\n`)
  const again = await Journal.open(cfg)
  const seen = await again.history({ limit: 1_000_000 })
  if (!seen.some((h) => h.op === probeOp))
    v(`an intent written after the torn tail was lost at the next start`)
  if (!again.recovered.some((e) => e.op === probeOp))
    v(`the open intent written after the cut was not recovered as unknown`)
  for (const e of again.recovered)
    if (e.op !== probeOp) v(`${e.op}/${e.node} recovered twice (its recovered result was lost)`)
  await again.close()
  return out
}
