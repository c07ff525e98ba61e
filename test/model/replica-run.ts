/**
 * Runs one replica scenario (replica-scenario.ts): two or three real Engines, each with its own
 * EtcdCoordinator (its own replica name and lease, one prefix per run) and its own journal, over
 * ONE plant of simulated devices, through a real etcd cluster. Each replica reaches etcd through
 * its own gate (etcd-gate.ts) so that its link can be cut. The trace is the single-mode one (one
 * engine life per replica), judged by the same invariants, plus what only replicas can break:
 * device sessions of two replicas open together, an orphaned fence that no replica ran again,
 * a replica not usable again once the faults and cuts are over.
 */
import { mkdirSync, mkdtempSync } from 'node:fs'
import path from 'node:path'
import type { PowerState } from '../../core/types.js'
import type { DeviceAction } from '../../core/types.js'
import { FenceError } from '../../core/errors.js'
import { EtcdCoordinator } from '../../src/coordination/etcd.js'
import { Engine } from '../../src/engine/engine.js'
import type { EtcdCluster } from '../../firmware-mocks/etcd-cluster.js'
import { EtcdGate } from './etcd-gate.js'
import type { ReplicaScenario } from './replica-scenario.js'
import {
  type EngineLife,
  MODEL_TMP,
  type Trace,
  buildConfig,
  initialPower,
  issue,
  now,
  recordedJournal,
} from './run-scenario.js'
import { LAYOUTS } from './scenario.js'
import { type CallScript, Plant, SimDriver } from './sim-device.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const quiet = { info() {}, warn() {} }
/** The replicas' lease: the shortest the config allows (a lost one is given up after 1.5 s). */
const LEASE_TTL_MS = 2000
/** After the last cut ends, how long a replica may take to hold a lease again (etcd3's reconnect). */
const REJOIN_MS = 15_000
/** How long the survivors may take to sweep and run again a dead replica's fence (lease + sweep + run). */
const ORPHAN_MS = 15_000

let runs = 0

/** A device session: one replica's connection to a device, from its first call to its close. */
interface Session {
  engine: number
  device: string
  from: number
  to?: number
}

export interface ReplicaTrace extends Trace {
  replica: ReplicaScenario
  sessions: Session[]
  /** Two replicas' sessions with one device open at once. */
  sessionOverlaps: string[]
  crashedAt: Map<number, number>
  unavailable: { engine: number; from: number; to: number }[]
  /** Replica-only problems found while running (orphans not run again, a replica not back). */
  replicaProblems: { invariant: 'orphan-rerun' | 'usable-after-heal'; detail: string }[]
  finalEngines: number[]
  /** Fences of crashed replicas followed to their re-run. */
  orphansChecked: number
  /** What etcd and the live replicas held before and after the final reads (printed with a violation). */
  snapshot: string[]
}

/** A sim driver that counts its session with the device (first call to close) across replicas. */
class SessionDriver extends SimDriver {
  private session: Session | undefined
  constructor(
    private readonly t: ReplicaTrace,
    plant: Plant,
    device: string,
    engine: number,
    plugs: readonly string[],
    withCancel: boolean,
  ) {
    super(plant, device, engine, plugs, withCancel)
    const cancel = this.cancelPending
    if (cancel)
      this.cancelPending = (p, call) => {
        this.open()
        return cancel(p, call)
      }
  }

  private open(): void {
    if (this.session || this.t.crashedAt.has(this.engine)) return
    const s: Session = { engine: this.engine, device: this.device, from: now() }
    for (const o of this.t.sessions)
      if (o.device === s.device && o.engine !== s.engine && o.to === undefined)
        this.t.sessionOverlaps.push(
          `${s.device}: engine ${s.engine} opened a session at ${s.from.toFixed(1)} while engine ${o.engine}'s (from ${o.from.toFixed(1)}) was open`,
        )
    this.session = s
    this.t.sessions.push(s)
  }

  private shut(): void {
    if (this.session && this.session.to === undefined) this.session.to = now()
  }

  override plugs(call: { signal: AbortSignal }) {
    this.open()
    return super.plugs(call)
  }
  override status(plugs: readonly string[], call: { signal: AbortSignal }): Promise<Map<string, PowerState>> {
    this.open()
    return super.status(plugs, call)
  }
  override set(plug: string, action: DeviceAction, call: { signal: AbortSignal }): Promise<void> {
    this.open()
    return super.set(plug, action, call)
  }
  override kill(): void {
    super.kill()
    this.shut()
  }
  override async close(): Promise<void> {
    await super.close()
    this.shut()
  }
}

interface Replica {
  life: EngineLife
  coordinator: EtcdCoordinator
  gate: EtcdGate
}

async function openReplica(t: ReplicaTrace, etcd: EtcdCluster, prefix: string, no: number): Promise<Replica> {
  const s = t.replica.base
  const lay = LAYOUTS[s.layout]!
  const journalPath = path.join(t.dir, `r${no}`, 'journal.jsonl')
  mkdirSync(path.dirname(journalPath), { recursive: true })
  const config = buildConfig(s, journalPath)
  const life: EngineLife = {
    no,
    start: now(),
    crashed: false,
    journalPath,
    records: [],
    intentSynced: new Map(),
    drivers: [],
  }
  const journal = await recordedJournal(config.journal, life)
  const gate = await EtcdGate.open(etcd.endpoints)
  const coordinator = await EtcdCoordinator.start(
    { replica: `r${no}`, etcd: { endpoints: gate.endpoints, prefix, leaseTtlMs: LEASE_TTL_MS } },
    quiet,
  )
  life.engine = await Engine.create(config, {
    journal,
    coordinator,
    createDriver: (dev, plugs) => {
      const d = new SessionDriver(
        t,
        t.plant,
        dev.id,
        no,
        plugs,
        lay.devices.find((x) => x.id === dev.id)!.cancel,
      )
      // a dead process opens no new connection (replica mode reopens a driver at each hand-over)
      if (life.crashed) d.kill()
      life.drivers.push(d)
      return d
    },
  })
  return { life, coordinator, gate }
}

/**
 * The replica's process dies: its device calls end with it, its lease is neither renewed nor
 * revoked (etcd lets it expire), nothing more of it reaches etcd. The Engine object lives on in
 * this process, but cut off from devices and etcd it can do nothing a caller or device sees.
 */
function crash(r: Replica, t: ReplicaTrace): void {
  const at = now()
  r.life.crashed = true
  r.life.end = at
  t.crashedAt.set(r.life.no, at)
  for (const d of r.life.drivers) d.kill()
  const c = r.coordinator as unknown as {
    closed: boolean
    timer?: NodeJS.Timeout
    expiry?: NodeJS.Timeout
    client: { close(): void }
  }
  c.closed = true
  clearInterval(c.timer)
  clearTimeout(c.expiry)
  c.client.close()
}

/** `started`: called once every replica has started (or failed to); the events' clock starts then. */
export async function runReplicaScenario(
  rs: ReplicaScenario,
  etcd: EtcdCluster,
  started: () => void = () => {},
): Promise<ReplicaTrace> {
  const s = rs.base
  const lay = LAYOUTS[s.layout]!
  const dir = mkdtempSync(path.join(MODEL_TMP, 'fencegate-replica-model-'))
  const prefix = `/fg-model-${process.pid}-${++runs}-${Date.now()}`
  const scripts: Record<string, CallScript[]> = {}
  lay.devices.forEach((d, i) => {
    scripts[d.id] = s.scripts[i] ?? []
  })
  const plant = new Plant(initialPower(s), scripts, s.settings.transitionMs)
  const t: ReplicaTrace = {
    scenario: s,
    layout: lay,
    plant,
    lives: [],
    calls: [],
    problems: [],
    dir,
    replica: rs,
    sessions: [],
    sessionOverlaps: [],
    crashedAt: new Map(),
    unavailable: [],
    replicaProblems: [],
    shared: true,
    finalEngines: [],
    orphansChecked: 0,
    snapshot: [],
  }
  const replicas: Replica[] = []
  try {
    for (let i = 1; i <= rs.engines; i++) replicas.push(await openReplica(t, etcd, prefix, i))
  } catch (e) {
    started()
    t.problems.push(`a replica failed to start: ${(e as Error).message}`)
    for (const r of replicas) {
      await r.life.engine?.close().catch(() => {})
      await r.gate.close()
    }
    plant.dispose()
    return t
  }
  t.lives.push(...replicas.map((r) => r.life))
  started()
  const timers: NodeJS.Timeout[] = [setTimeout(() => plant.heal(), s.healAtMs)]
  const events = rs.events.map(
    (e) =>
      new Promise<void>((resolve) => {
        const r = replicas[e.engine]!
        timers.push(
          setTimeout(() => {
            if (r.life.crashed) return resolve()
            if (e.t === 'crash') {
              crash(r, t)
              return resolve()
            }
            const from = now()
            r.gate.cut()
            timers.push(
              setTimeout(() => {
                r.gate.mend()
                // answers of 503 stay fair until the replica has a lease again
                t.unavailable.push({ engine: r.life.no, from, to: now() + REJOIN_MS })
                resolve()
              }, e.forMs),
            )
          }, e.atMs),
        )
      }),
  )

  const target = (ci: number, k: number): Replica | undefined => {
    const want = rs.deal[ci % rs.deal.length]![k % 3]!
    for (let i = 0; i < rs.engines; i++) {
      const r = replicas[(want + i) % rs.engines]!
      if (!r.life.crashed) return r
    }
    return undefined
  }
  await Promise.all(
    s.callers.map(async (c, ci) => {
      for (const [k, op] of c.ops.entries()) {
        await sleep(op.waitMs)
        const r = target(ci, k)
        if (!r) return
        await issue(t, r.life, ci, c.role, op)
      }
    }),
  )
  await Promise.all(events)
  for (const tm of timers) clearTimeout(tm)
  if (plant.faulty) plant.heal()
  t.healAt = now()

  // a crashed replica's callers saw the connection drop at the crash: no answer came after it
  for (const c of t.calls) {
    const at = t.crashedAt.get(c.engine)
    if (at !== undefined && (c.end === undefined || c.end > at)) {
      c.end = Math.max(at, c.start)
      delete c.operation
      delete c.statuses
      delete c.health
      c.error = new FenceError('ENGINE_CLOSED', `replica ${c.engine} crashed while this request ran`)
    }
  }

  // after the heal every live replica holds a lease again and answers from its devices
  const live = replicas.filter((r) => !r.life.crashed)
  for (const r of live) {
    const deadline = now() + REJOIN_MS
    while (r.coordinator.view().state !== 'ok' && now() < deadline) await sleep(50)
    if (r.coordinator.view().state !== 'ok')
      t.replicaProblems.push({
        invariant: 'usable-after-heal',
        detail: `engine ${r.life.no} has no lease ${REJOIN_MS}ms after its etcd link was mended: ${r.coordinator.view().cause}`,
      })
  }
  // a dead replica's faults clear when etcd expires its lease (its device locks go with it):
  // until then the survivors wait behind its locks, as they must. Its `replicas/<name>` key,
  // put with the lease, says when.
  if (live.length)
    for (const no of t.crashedAt.keys()) {
      const ns = (
        live[0]!.coordinator as unknown as { ns: { get(k: string): { string(): Promise<string | null> } } }
      ).ns
      const deadline = now() + LEASE_TTL_MS + REJOIN_MS
      while (
        now() < deadline &&
        (await ns
          .get(`replicas/r${no}`)
          .string()
          .catch(() => 'unknown')) !== null
      )
        await sleep(50)
    }
  t.healAt = now()
  const allNodes = lay.nodes.map((_, i) => i)
  if (live.length) await snapshotLocks(t, live, 'before the final reads')
  for (const r of live) {
    t.finalEngines.push(r.life.no)
    await issue(t, r.life, -1, 'viewer', { t: 'status', nodes: allNodes, waitMs: 0, timeoutMs: 3000 }, true)
    for (let d = 0; d < lay.devices.length; d++)
      await issue(t, r.life, -1, 'viewer', { t: 'probe', device: d, waitMs: 0, timeoutMs: 1000 }, true)
  }

  if (live.length) await snapshotLocks(t, live, 'after the final reads')

  // a dead replica's fence that had touched a device: a survivor sweeps it and runs it again
  if (t.crashedAt.size && live.length) await checkOrphans(t, live[0]!)

  for (const r of replicas) {
    r.life.end ??= now()
    await r.life.engine?.close().catch((e) => {
      if (!r.life.crashed) t.problems.push(`close: ${(e as Error).message}`)
    })
    await r.gate.close()
  }
  plant.dispose()
  return t
}

/** Each device's lock queue in etcd and what each live replica thinks it holds. */
async function snapshotLocks(t: ReplicaTrace, live: Replica[], when: string): Promise<void> {
  t.snapshot.push(`${when} (${now().toFixed(0)}ms):`)
  type Peek = {
    ns: {
      getAll(): {
        prefix(p: string): { sort(a: string, b: string): { strings(): Promise<Record<string, string>> } }
      }
    }
    leaseId: string
  }
  const peek = (r: Replica) => r.coordinator as unknown as Peek
  for (const r of live) {
    const view = r.coordinator.view()
    t.snapshot.push(
      `engine ${r.life.no}: lease ${peek(r).leaseId}, state ${view.state}, holds ${JSON.stringify(view.holding)}`,
    )
    const runners = (
      r.life.engine as unknown as { runners: Map<string, { queue: { size: number; pending: number } }> }
    ).runners
    for (const [id, x] of runners)
      t.snapshot.push(`  ${id}: queue ${x.queue.size} waiting, ${x.queue.pending} running`)
  }
  const queue = await peek(live[0]!)
    .ns.getAll()
    .prefix('locks/')
    .sort('Create', 'Ascend')
    .strings()
    .catch((e: Error) => ({ error: e.message }))
  t.snapshot.push(`lock keys in etcd (oldest first): ${JSON.stringify(queue)}`)
}

async function checkOrphans(t: ReplicaTrace, judge: Replica): Promise<void> {
  for (const life of t.lives) {
    const at = t.crashedAt.get(life.no)
    if (at === undefined) continue
    const before = life.records.filter((r) => r.at <= at)
    for (const r of before) {
      const intent = r.rec
      if (intent.t !== 'intent' || intent.kind !== 'fence') continue
      const open = intent.nodes.filter(
        (n) => !before.some((x) => x.rec.t === 'result' && x.rec.op === intent.op && x.rec.node === n),
      )
      const touched = before.some((x) => x.rec.t === 'step' && x.rec.op === intent.op)
      if (!open.length) continue
      t.orphansChecked++
      const deadline = now() + ORPHAN_MS
      let detail = ''
      for (;;) {
        const rec = await judge.coordinator.findOperation(intent.op).catch(() => undefined)
        if (!rec) {
          // never recorded in etcd: it never touched a device (the record comes first)
          detail = touched ? 'not in the cluster records' : ''
          if (!touched) break
        } else if (rec.rerunAs) {
          const again = await judge.coordinator.findOperation(rec.rerunAs).catch(() => undefined)
          if (again && again.op.status !== 'running') {
            detail = ''
            break
          }
          detail = `run again as ${rec.rerunAs}, which has not ended`
        } else if (rec.op.status !== 'running' && !rec.orphaned) {
          // its result reached etcd before the process died
          detail = ''
          break
        } else detail = rec.orphaned ? 'orphaned, not run again' : 'still running as far as etcd knows'
        if (now() > deadline) break
        await sleep(100)
      }
      if (detail)
        t.replicaProblems.push({
          invariant: 'orphan-rerun',
          detail: `engine ${life.no} crashed during fence ${intent.op} of ${open.join(',')}${touched ? ' (a device was touched)' : ''}: ${detail} ${ORPHAN_MS}ms on`,
        })
    }
  }
}
