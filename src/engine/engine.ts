import type { PowerDriver } from '../../drivers/driver.js'
import { createDriver } from '../../drivers/registry.js'
import { Journal } from '../audit/journal.js'
import type { DeviceConfig, GatewayConfig, NodeConfig } from '../config/config.js'
import { readSecret } from '../config/secrets.js'
import { Deadline, monotonicNow, sleep, untilAborted } from '../../core/deadline.js'
import { FenceError, abortError, toFenceError } from '../../core/errors.js'
import type { FenceAction, Initiator, NodeAction, PlugRef, PowerState } from '../../core/types.js'
import { plugKey } from '../../core/types.js'
import { type Coordinator, EmbeddedCoordinator, type OperationRecord } from '../coordination/coordinator.js'
import type { Death, DeathOutcome } from '../coordination/death.js'
import { DeviceRunner, PRIORITY, type Priority } from './device-runner.js'
import { FencingRules } from './fencing-rules.js'
import { nodeState } from './node-state.js'
import { OperationLog } from './operation-log.js'
import { type Ctx, PlugSteps, uniqueRefs } from './plug-steps.js'
import type {
  Attempt,
  Confirmation,
  DeviceHealth,
  EngineEvent,
  FenceEngine,
  HistoryEntry,
  HistoryQuery,
  NodeInfo,
  NodeResult,
  NodeStatus,
  Operation,
  OperationAction,
  OperationKind,
  OperationRequest,
} from './types.js'

/** Anything pino-shaped. */
export interface Logger {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
  debug(obj: object, msg?: string): void
}

const silent: Logger = { info() {}, warn() {}, error() {}, debug() {} }

export interface EngineOptions {
  log?: Logger
  /** Build drivers another way (tests wrap drivers to count calls). Default: drivers/registry. */
  createDriver?: (device: DeviceConfig, plugs: readonly string[]) => PowerDriver
  /** Open this journal instead of the config's (tests). */
  journal?: Journal
  /** How replicas share devices. Default: etcd when the config has `coordination`, else one gateway. */
  coordinator?: Coordinator
}

/** A fence under way: joiners share it; it stops early only when every caller has gone. */
interface InflightFence {
  action: FenceAction
  op: Promise<Operation>
  /** Set once the operation exists (its intent is durable). */
  id?: string
  callers: Callers
}

/** Non-fence work on one node: a fence pre-empts it (aborts it, waits for its device calls). */
interface NodeWork {
  controller: AbortController
  /** Its device calls, each settled when the call has left the device. */
  calls: Set<Promise<void>>
}

/** Hooks of one operation run. */
interface RunHooks {
  /** The operation exists and its intent is durable. */
  created?: (op: Operation) => void
  /** After the intent is durable, before it is handed out: a failure fails the operation, no device touched. */
  durable?: (op: Operation) => Promise<void>
  /** Per node, after the intent and before the first device call. */
  before?: (op: Operation, ctx: Ctx) => void
}

/**
 * The FenceEngine: the only place the fencing rules of design.md live. Drivers know their
 * protocol; the engine decides what to switch, in which order, and when a node counts as off.
 */
export class Engine implements FenceEngine {
  readonly simulated: boolean
  private readonly runners = new Map<string, DeviceRunner>()
  /** Every operation's record: made, intent, results, finish (operation-log.ts). */
  private readonly records: OperationLog
  private readonly fencing = new Map<string, InflightFence>()
  private readonly nodeWork = new Map<string, Set<NodeWork>>()
  /** Fences waiting at their manual level for a person's confirmation, by node. */
  private readonly awaiting = new Map<
    string,
    { op: string; since: string; confirm: (c: Confirmation) => void }
  >()
  /** The last fence of each node (a failed one may be confirmed by hand). */
  private readonly lastFence = new Map<string, Operation>()
  private readonly holdUntil = new Map<string, number>()
  private readonly listeners = new Set<(op: Operation) => void>()
  private readonly eventListeners = new Set<(e: EngineEvent) => void>()
  /** The nodes each plug (`device:plug`) powers, to tell observers which nodes a read changed. */
  private readonly nodesOfPlug = new Map<string, string[]>()
  /** Last read state of every plug; `unknown` after a set until read back. Never used to decide off. */
  private readonly known: Map<string, PowerState> = new WatchedStates((key) => {
    for (const node of this.nodesOfPlug.get(key) ?? []) this.emit({ type: 'node', node })
  })
  private readonly probeTimer: NodeJS.Timeout | undefined
  private closed = false
  /** Operations under way (close() waits for them). */
  private readonly inflight = new Set<Promise<Operation>>()
  /** etcd writes an answer did not wait for (its deadline came first): close() lets them end. */
  private readonly lateWrites = new Set<Promise<unknown>>()
  private readonly log: Logger
  private readonly steps: PlugSteps
  private readonly rules: FencingRules
  readonly coordinator: Coordinator

  private constructor(
    readonly config: GatewayConfig,
    readonly journal: Journal,
    opts: EngineOptions,
  ) {
    this.simulated = config.simulated
    this.log = opts.log ?? silent
    this.coordinator = opts.coordinator ?? new EmbeddedCoordinator()
    this.coordinator.onOrphanFence((rec) => this.rerunFence(rec))
    this.records = new OperationLog(journal, this.coordinator, this.log, this.simulated, (op) => {
      for (const l of this.listeners) l(op)
      this.emit({ type: 'operation', phase: 'finished', op })
    })
    const plugsOf = new Map<string, Set<string>>()
    for (const n of config.nodes.values())
      for (const r of n.levels.flat()) {
        if (!plugsOf.has(r.device)) plugsOf.set(r.device, new Set())
        plugsOf.get(r.device)!.add(r.plug)
        const users = this.nodesOfPlug.get(plugKey(r)) ?? []
        if (!users.includes(n.name)) users.push(n.name)
        this.nodesOfPlug.set(plugKey(r), users)
      }
    for (const dev of config.devices.values()) {
      const plugs = [...(plugsOf.get(dev.id) ?? [])]
      const open = () => (opts.createDriver ? opts.createDriver(dev, plugs) : driverFor(dev, this.log))
      const runner = new DeviceRunner(
        dev.id,
        dev.driver,
        open(),
        config.engine,
        plugs,
        dev.deviceCycle,
        (plug, st) => this.known.set(`${dev.id}:${plug}`, st),
        this.coordinator,
        open,
      )
      runner.health.verifies = dev.verifies !== false
      this.runners.set(dev.id, runner)
    }
    this.steps = new PlugSteps(this.runners, journal, this.known, config.engine)
    this.rules = new FencingRules(this.steps, {
      deviceCycle: (device) => this.runners.get(device)!.deviceCycle,
      verifies: (device) => this.runners.get(device)!.health.verifies,
      awaitConfirmation: (ctx, level) => this.awaitConfirmation(ctx, level),
    })
    if (config.engine.probeIntervalMs > 0) {
      this.probeTimer = setInterval(() => this.probeAll(), config.engine.probeIntervalMs)
      this.probeTimer.unref()
      setImmediate(() => this.probeAll())
    }
  }

  /** Open the journal (taking its lock), build the drivers, start the health probes. */
  static async create(config: GatewayConfig, opts: EngineOptions = {}): Promise<Engine> {
    const journal = opts.journal ?? (await Journal.open(config.journal))
    let coordinator = opts.coordinator
    try {
      // replica mode: no lease from etcd, no start (the error names the endpoints that failed)
      if (!coordinator && config.coordination) {
        const { EtcdCoordinator } = await import('../coordination/etcd.js')
        coordinator = await EtcdCoordinator.start(config.coordination, opts.log ?? silent)
      }
      const engine = new Engine(config, journal, { ...opts, ...(coordinator ? { coordinator } : {}) })
      for (const r of journal.recovered)
        engine.log.warn(
          { op: r.op, node: r.node, action: r.action },
          'an operation was interrupted: outcome unknown',
        )
      await engine.restoreHolds()
      return engine
    } catch (e) {
      if (!opts.journal) await journal.close()
      if (coordinator && !opts.coordinator) await coordinator.close()
      throw e
    }
  }

  /**
   * fenceHold survives a restart: a node fenced (or confirmed off, or whose fence a crash cut
   * short) less than fenceHold ago is held again, from the journal, before any request is taken.
   */
  private async restoreHolds(): Promise<void> {
    const holdMs = this.config.engine.fenceHoldMs
    if (holdMs <= 0) return
    const now = Date.now()
    const entries = await this.journal.history({ since: new Date(now - 2 * holdMs), limit: 10_000 })
    for (const e of entries) {
      if (e.kind !== 'fence' && e.kind !== 'confirm') continue
      if (e.outcome === 'failed' || e.outcome === 'running' || !this.config.nodes.has(e.node)) continue
      const left = Date.parse(e.finishedAt ?? e.startedAt) + holdMs - now
      if (left > 0)
        this.holdUntil.set(e.node, Math.max(this.holdUntil.get(e.node) ?? 0, monotonicNow() + left))
    }
  }

  private probeAll(): void {
    if (this.closed) return
    for (const r of this.runners.values())
      void r.probe().then((h) => {
        if (h.state === 'failing') this.log.warn({ device: h.id, error: h.lastError }, 'device probe failed')
        this.emit({ type: 'device', id: h.id })
      })
  }

  // ---- queries ----------------------------------------------------------------------------

  nodes(): NodeInfo[] {
    return [...this.config.nodes.values()].map(info)
  }

  node(name: string): NodeInfo {
    return info(this.nodeConfig(name))
  }

  private nodeConfig(name: string): NodeConfig {
    const n = this.config.nodes.get(name)
    if (!n) throw new FenceError('UNKNOWN_NODE', `no node '${name}' in the config`)
    return n
  }

  /** The last known states, without touching any device (for listings). */
  cached(names: readonly string[]): NodeStatus[] {
    return names.map((name) => {
      const n = this.nodeConfig(name)
      const read = (r: PlugRef) => this.known.get(plugKey(r)) ?? 'unknown'
      return {
        node: name,
        state: nodeState(n.levels, read),
        plugs: n.levels.flatMap((lv, i) => lv.map((r) => ({ ...r, level: i + 1, state: read(r) }))),
        ...this.awaitingView(name),
      }
    })
  }

  /** The fence waiting at the node's manual level, and the node's fence hold, for its views. */
  private awaitingView(name: string): Pick<NodeStatus, 'awaitingConfirmation' | 'fenceHold'> {
    const w = this.awaiting.get(name)
    const left = (this.holdUntil.get(name) ?? 0) - monotonicNow()
    return {
      ...(w ? { awaitingConfirmation: { op: w.op, since: w.since } } : {}),
      ...(left > 0 ? { fenceHold: { until: new Date(Date.now() + left).toISOString() } } : {}),
    }
  }

  async status(names: readonly string[], req: OperationRequest): Promise<NodeStatus[]> {
    const nodes = names.map((n) => this.nodeConfig(n))
    this.coordinator.checkAvailable()
    const deadline = new Deadline(req.timeoutMs ?? this.config.engine.defaultTimeoutMs, req.signal)
    try {
      const refs = uniqueRefs(nodes.flatMap((n) => n.levels.flat()))
      const errors = new Map<string, FenceError>()
      const states = await this.steps.read(
        refs,
        { signal: deadline.signal, priority: PRIORITY.operator },
        errors,
      )
      return nodes.map((n) => {
        const read = (r: PlugRef) => states.get(plugKey(r)) ?? 'unknown'
        return {
          node: n.name,
          state: nodeState(n.levels, read),
          ...this.awaitingView(n.name),
          plugs: n.levels.flatMap((lv, i) =>
            lv.map((r) => {
              const err = errors.get(plugKey(r))
              return {
                ...r,
                level: i + 1,
                state: read(r),
                ...(err ? { error: { code: err.code, message: err.message } } : {}),
              }
            }),
          ),
        }
      })
    } finally {
      deadline.dispose()
    }
  }

  operation(id: string): Operation | undefined {
    return this.records.get(id)
  }

  /** This gateway's operation, else (replica mode) the cluster's record of it. */
  async findOperation(id: string): Promise<Operation | undefined> {
    return this.records.get(id) ?? (await this.coordinator.findOperation(id))?.op
  }

  /** A fence whose replica died mid-operation: run it again (it reads the state first). Its id. */
  private rerunFence(rec: OperationRecord): Promise<string | undefined> {
    const node = rec.op.nodes[0]
    if (!node || !this.config.nodes.has(node)) return Promise.resolve(undefined)
    return new Promise((resolve) => {
      this.fence(node, rec.op.action as FenceAction, {
        initiator: rec.op.initiator,
        onStart: (o) => resolve(o.id),
      })
        .then((o) => {
          this.log.warn(
            { op: o.id, orphan: rec.op.id, node, outcome: o.results[0]?.outcome },
            `fence of ${node} run again after replica ${rec.replica} died: ${o.status}`,
          )
          resolve(o.id)
        })
        .catch((e) => {
          this.log.error(
            { orphan: rec.op.id, node, err: (e as Error).message },
            'fence run again failed to start',
          )
          resolve(undefined)
        })
    })
  }

  /**
   * A heartbeat death: the engine's fence is the runner the coordinator may run (replica mode:
   * here or on one other replica, the others get its outcome; one gateway: here).
   */
  fenceDeath(death: Death, initiator: Initiator): Promise<DeathOutcome> {
    return this.coordinator.fenceDeath(death, (timeoutMs, onStart) =>
      this.fence(death.node, death.action, { initiator, timeoutMs, onStart }),
    )
  }

  history(q: HistoryQuery): Promise<HistoryEntry[]> {
    return this.journal.history(q)
  }

  devices(): DeviceHealth[] {
    return [...this.runners.values()].map((r) => ({ ...r.health }))
  }

  device(id: string): DeviceHealth {
    const r = this.runners.get(id)
    if (!r) throw new FenceError('UNKNOWN_DEVICE', `no device '${id}' in the config`)
    return { ...r.health }
  }

  async probe(id: string, req: OperationRequest): Promise<DeviceHealth> {
    const r = this.runners.get(id)
    if (!r) throw new FenceError('UNKNOWN_DEVICE', `no device '${id}' in the config`)
    const health = {
      ...(await r.probe(req.timeoutMs ?? this.config.engine.probeTimeoutMs, PRIORITY.operator)),
    }
    this.emit({ type: 'device', id })
    return health
  }

  onOperation(listener: (op: Operation) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  onEvent(listener: (e: EngineEvent) => void): () => void {
    this.eventListeners.add(listener)
    return () => this.eventListeners.delete(listener)
  }

  /** Tell the observers; one that throws never disturbs the engine or the others. */
  private emit(e: EngineEvent): void {
    for (const l of this.eventListeners)
      try {
        l(e)
      } catch (err) {
        this.log.error({ err: (err as Error).message, event: e.type }, 'event observer failed')
      }
  }

  // ---- actions ----------------------------------------------------------------------------

  async power(name: string, action: NodeAction, req: OperationRequest): Promise<Operation> {
    const node = this.nodeConfig(name)
    this.checkHold(node.name, action, req)
    // replica mode: a fence of the node through another replica refuses it here too (409). The
    // look in etcd counts against the caller's deadline; when that passes first, the operation
    // runs out of time like any other (failed, nothing driven: the node's guard asks etcd again
    // before every command, and no command is sent past the deadline)
    const mine = new Deadline(req.timeoutMs ?? this.config.engine.defaultTimeoutMs, req.signal)
    try {
      if (this.coordinator.mode !== 'single')
        await untilAborted(
          this.coordinator.checkNodeHold(node.name, action === 'off' ? 'off' : 'on', req.initiator.role),
          mine.signal,
        ).catch((e) => {
          if (mine.signal.aborted) return
          const err = toFenceError(e)
          throw err.code === 'PREEMPTED' ? new FenceError('FENCE_HOLD', err.message, err.details) : err
        })
      return this.operate(
        'power',
        action,
        [node],
        { ...req, timeoutMs: mine.remaining() },
        PRIORITY.operator,
        (ctx) => this.rules.act(ctx, action, false),
      )
    } finally {
      mine.dispose()
    }
  }

  /**
   * Fence a node. A fence of the same action in flight is joined (rule 7), each caller waiting
   * within its own deadline; another action waits for it. Before its first device call the fence
   * pre-empts the node's other work: aborts it and waits until its device calls have settled.
   */
  async fence(name: string, action: FenceAction | undefined, req: OperationRequest): Promise<Operation> {
    const node = this.nodeConfig(name)
    if (node.fence === false)
      throw new FenceError(
        'UNSUPPORTED_ACTION',
        `node ${name} cannot be fenced (fence: false in the config): its devices cannot prove it off`,
      )
    const want = action ?? node.fenceAction
    const mine = new Deadline(req.timeoutMs ?? this.config.engine.defaultTimeoutMs, req.signal)
    try {
      for (;;) {
        for (let f = this.fencing.get(name); f; f = this.fencing.get(name)) {
          if (f.action === want) return await this.join(node.name, want, f, req, mine)
          // another action: wait for that fence to end, within this caller's deadline
          await untilAborted(
            f.op.then(
              () => {},
              () => {},
            ),
            mine.signal,
          )
          // a safety net (the fence removes its entry as its operation settles): never a loop of
          // microtasks on a settled fence whose entry is still there, which would starve the
          // event loop (timers, sockets); let it run before looking again
          if (this.fencing.get(name) === f) await sleep(1, mine.signal)
        }
        // one gateway: no await between the check above and the registration below (a second
        // caller in the same tick must find this fence and join it)
        if (this.coordinator.mode === 'single') break
        // replica mode: a fence of the node on another replica is joined too (or waited for)
        const remote = await this.joinElsewhere(node.name, want, req, mine)
        if (remote) {
          mine.dispose()
          return remote
        }
        // a local fence may have begun while etcd was asked: join it (rule 7), never run a second
        if (!this.fencing.get(name)) break
      }
    } catch (e) {
      mine.dispose()
      throw toFenceError(e)
    }
    const callers = new Callers(req.signal)
    const inflight: InflightFence = { action: want, op: Promise.resolve(undefined as never), callers }
    const op = this.operate(
      'fence',
      want,
      [node],
      { ...req, timeoutMs: mine.remaining(), signal: callers.signal },
      PRIORITY.fence,
      (ctx) => this.rules.act(ctx, want, true),
      {
        created: (o) => {
          inflight.id = o.id
        },
        // replica mode: the other replicas refuse work on the node while it is fenced, and `on` for fenceHold
        durable: (o) =>
          this.coordinator.holdNode(name, o.id, mine.remaining() + this.config.engine.fenceHoldMs),
        before: (o, ctx) => this.preempt(node.name, o.id, ctx),
      },
    )
    mine.dispose()
    inflight.op = op
    this.fencing.set(name, inflight)
    // the fence is over for everyone the moment its operation is: its hold starts, and a caller
    // waiting to run another action goes on (it must not find this entry while the hold is
    // renewed in etcd below: it would loop on an operation already settled)
    let ended = false
    const end = () => {
      if (ended) return
      ended = true
      if (this.fencing.get(name) === inflight) this.fencing.delete(name)
      this.holdUntil.set(name, monotonicNow() + this.config.engine.fenceHoldMs)
      this.emit({ type: 'node', node: name })
    }
    try {
      const done = await op
      this.lastFence.set(name, done)
      end()
      await this.late(
        this.coordinator
          .holdNode(name, done.id, this.config.engine.fenceHoldMs)
          .catch((e) =>
            this.log.warn(
              { node: name, err: (e as Error).message },
              'etcd: the fence hold could not be renewed',
            ),
          ),
        mine.remaining(),
      )
      return done
    } finally {
      callers.leave(req.signal)
      end()
    }
  }

  /** A caller joins a fence in flight: its result, or by this caller's own deadline a failure that says the fence goes on. */
  private async join(
    node: string,
    action: FenceAction,
    f: InflightFence,
    req: OperationRequest,
    mine: Deadline,
  ): Promise<Operation> {
    const started = monotonicNow()
    f.callers.add(req.signal)
    try {
      const op = await untilAborted(f.op, mine.signal)
      return { ...op, results: op.results.map((r) => ({ ...r, joined: true })) }
    } catch (e) {
      const err = toFenceError(e)
      // before its intent is durable the fence has no id to hand out: an error, never an id nothing knows
      if (!f.id)
        throw new FenceError(
          err.code,
          err.code === 'DEADLINE_EXCEEDED'
            ? `the fence of ${node} this request joined had not started by this caller's deadline; it goes on`
            : err.message,
        )
      const live = this.records.get(f.id)
      const message =
        err.code === 'DEADLINE_EXCEEDED'
          ? `the fence of ${node} this request joined (${f.id}) had not ended by this caller's deadline; it goes on`
          : err.message
      return {
        id: f.id,
        kind: 'fence',
        action,
        nodes: [node],
        initiator: live?.initiator ?? req.initiator,
        startedAt: live?.startedAt ?? new Date().toISOString(),
        finishedAt: new Date().toISOString(),
        status: 'failed',
        simulated: this.simulated,
        results: [
          {
            node,
            action,
            outcome: 'failed',
            state: 'unknown',
            joined: true,
            error: { code: err.code, message },
            attempts: [],
            durationMs: monotonicNow() - started,
          },
        ],
      }
    } finally {
      f.callers.leave(req.signal)
      mine.dispose()
    }
  }

  /**
   * Rule 7 across replicas: a fence of the node running on another live replica is joined (its
   * result, the caller waiting within its own deadline) when it is of the same action, and waited
   * for when not. undefined: nothing runs elsewhere (or it was an orphan): fence here.
   */
  private async joinElsewhere(
    node: string,
    want: FenceAction,
    req: OperationRequest,
    mine: Deadline,
  ): Promise<Operation | undefined> {
    const elsewhere = () => untilAborted(this.coordinator.fenceElsewhere(node), mine.signal)
    for (let other = await elsewhere(); other; ) {
      if (other.action !== want) {
        await this.coordinator.awaitOperation(other.op, mine.signal).catch((e) => {
          throw mine.signal.aborted ? abortError(mine.signal) : e
        })
        other = await elsewhere()
        continue
      }
      const started = monotonicNow()
      const found = await untilAborted(this.coordinator.findOperation(other.op), mine.signal)
      // its intent is durable in etcd: the id may be handed out (202) like a fence of our own
      if (found) req.onStart?.(found.op)
      let rec: OperationRecord
      try {
        rec = await this.coordinator.awaitOperation(other.op, mine.signal)
      } catch (e) {
        if (!mine.signal.aborted) throw e
        const message = `the fence of ${node} this request joined (${other.op}, on replica ${other.replica}) had not ended by this caller's deadline; it goes on`
        return {
          ...(found?.op ?? {
            id: other.op,
            kind: 'fence' as const,
            action: want,
            nodes: [node],
            initiator: req.initiator,
            startedAt: new Date().toISOString(),
            simulated: this.simulated,
          }),
          finishedAt: new Date().toISOString(),
          status: 'failed',
          results: [
            {
              node,
              action: want,
              outcome: 'failed',
              state: 'unknown',
              joined: true,
              error: { code: 'DEADLINE_EXCEEDED', message },
              attempts: [],
              durationMs: monotonicNow() - started,
            },
          ],
        }
      }
      // its replica died before anyone ran it again: fence here (it reads the state first)
      if (rec.orphaned && !rec.rerunAs) return undefined
      return { ...rec.op, results: rec.op.results.map((r) => ({ ...r, joined: true })) }
    }
    return undefined
  }

  /**
   * Abort the node's non-fence work. The fence's device calls then wait, each inside its device's
   * slot (so nothing queued since gets ahead), until the aborted work's commands have settled.
   */
  private preempt(name: string, fenceId: string, ctx: Ctx): void {
    const works = this.nodeWork.get(name)
    if (!works?.size) return
    const reason = new FenceError('PREEMPTED', `pre-empted by fence ${fenceId}`, { fence: fenceId })
    const calls: Promise<void>[] = []
    for (const w of works) {
      w.controller.abort(reason)
      calls.push(...w.calls)
    }
    this.log.warn({ node: name, fence: fenceId, operations: works.size }, 'fence pre-empts work on the node')
    ctx.barrier = Promise.all(calls).then(() => {})
  }

  /**
   * The manual level (meatware): the fence waits, within its deadline, for `confirm`. Said loudly:
   * the agent's caller sees it in the gateway's log and in `fencegate status`.
   */
  private awaitConfirmation(ctx: Ctx, level: number): Promise<Confirmation> {
    const name = ctx.node.name
    const signal = ctx.deadline.signal
    const since = new Date().toISOString()
    const started = monotonicNow()
    this.log.warn(
      { node: name, op: ctx.op, level },
      `${name}: every device failed; waiting for operator confirmation (fencegate confirm ${name} --reason ...)`,
    )
    void this.journal
      .append(
        {
          t: 'step',
          op: ctx.op,
          ts: since,
          node: name,
          level,
          device: 'manual',
          plug: name,
          step: 'confirm',
          outcome: 'waiting',
        },
        false,
      )
      .catch(() => {})
    return new Promise<Confirmation>((resolve, reject) => {
      const onAbort = () => {
        this.awaiting.delete(name)
        this.emit({ type: 'node', node: name })
        const err = abortError(signal)
        ctx.attempts.push({
          level,
          device: 'manual',
          plug: name,
          step: 'confirm',
          outcome: 'failed',
          code: err.code,
          message: 'no operator confirmed the node off in time',
          tries: 1,
          durationMs: monotonicNow() - started,
        })
        reject(new FenceError(err.code, `every device failed and no operator confirmed ${name} off in time`))
      }
      if (signal.aborted) return onAbort()
      signal.addEventListener('abort', onAbort, { once: true })
      this.awaiting.set(name, {
        op: ctx.op,
        since,
        confirm: (c) => {
          signal.removeEventListener('abort', onAbort)
          this.awaiting.delete(name)
          this.emit({ type: 'node', node: name })
          ctx.attempts.push({
            level,
            device: 'manual',
            plug: name,
            step: 'confirm',
            outcome: 'ok',
            message: `confirmed off by ${c.by}: ${c.reason}`,
            tries: 1,
            durationMs: monotonicNow() - started,
          })
          resolve(c)
        },
      })
      this.emit({ type: 'node', node: name })
    })
  }

  async confirm(name: string, req: OperationRequest & { reason: string }): Promise<Operation> {
    const node = this.nodeConfig(name)
    if (node.fence === false)
      throw new FenceError(
        'UNSUPPORTED_ACTION',
        `node ${name} cannot be fenced (fence: false): nothing to confirm`,
      )
    const confirmation: Confirmation = {
      by: req.initiator.name,
      role: req.initiator.role,
      reason: req.reason,
      at: new Date().toISOString(),
    }
    const waiting = this.awaiting.get(name)
    const inflight = this.fencing.get(name)
    if (waiting && inflight) {
      waiting.confirm(confirmation)
      return inflight.op
    }
    if (inflight)
      throw new FenceError(
        'NOTHING_TO_CONFIRM',
        `the fence of ${name} is still trying its devices: confirm when it waits for you (fencegate status ${name})`,
      )
    const last = await this.lastFenceOf(name)
    if (!last || (last.outcome !== 'failed' && last.outcome !== 'unknown'))
      throw new FenceError(
        'NOTHING_TO_CONFIRM',
        last
          ? `the last fence of ${name} (${last.op}) ended ${last.outcome}: nothing to confirm`
          : `no fence of ${name} is waiting or has failed: nothing to confirm`,
      )
    // completes the failed fence: journaled like any operation, never a device read-back
    const op = await this.operate(
      'confirm',
      last.action as FenceAction,
      [node],
      req,
      PRIORITY.fence,
      async (ctx) => {
        ctx.attempts.push({
          level: 0,
          device: 'manual',
          plug: name,
          step: 'confirm',
          outcome: 'ok',
          message: `confirmed off by ${confirmation.by} after fence ${last.op} ended ${last.outcome}: ${confirmation.reason}`,
          tries: 1,
          durationMs: 0,
        })
        return { outcome: 'confirmed-by-operator', state: 'unknown', confirmation }
      },
    )
    this.lastFence.set(name, op)
    this.holdUntil.set(name, monotonicNow() + this.config.engine.fenceHoldMs)
    this.emit({ type: 'node', node: name })
    return op
  }

  /**
   * The node's last fence (or confirmation): this run's, else the journal's (a gateway restarted
   * after a failed fence, the CLI's own engine).
   */
  private async lastFenceOf(
    name: string,
  ): Promise<{ op: string; action: OperationAction; outcome: HistoryEntry['outcome'] } | undefined> {
    const mine = this.lastFence.get(name)
    if (mine) return { op: mine.id, action: mine.action, outcome: mine.results[0]?.outcome ?? 'unknown' }
    const entries = await this.journal.history({ node: name, limit: 1000 })
    const e = entries.find((x) => x.kind === 'fence' || x.kind === 'confirm')
    return e && { op: e.op, action: e.action, outcome: e.outcome }
  }

  async bulk(names: readonly string[], action: NodeAction, req: OperationRequest): Promise<Operation> {
    const nodes = names.map((n) => this.nodeConfig(n))
    return this.operate('bulk', action, nodes, req, PRIORITY.operator, (ctx) => {
      this.checkHold(ctx.node.name, action, req)
      return this.rules.act(ctx, action, false)
    })
  }

  /**
   * Admission: nothing but a fence acts on a node being fenced; `on` (and what ends in on) is
   * refused for fenceHold after a fence, except to fencers.
   */
  private checkHold(name: string, action: NodeAction, req: OperationRequest): void {
    const f = this.fencing.get(name)
    if (f)
      throw new FenceError(
        'FENCE_HOLD',
        `node ${name} is being fenced${f.id ? ` (fence ${f.id})` : ''}: ${action} refused`,
      )
    if (action === 'off' || req.initiator.role === 'fencer') return
    const until = this.holdUntil.get(name) ?? 0
    const left = until - monotonicNow()
    if (left > 0)
      throw new FenceError(
        'FENCE_HOLD',
        `node ${name} was fenced: ${action} refused for another ${Math.ceil(left / 1000)}s (fenceHold)`,
      )
  }

  /**
   * The last word before a non-fence step touches a device (checked inside the device's slot):
   * a fence begun since pre-empts it; `on` stays refused under a hold.
   */
  private guard(name: string, action: 'on' | 'off' | 'cycle', req: OperationRequest): void {
    const f = this.fencing.get(name)
    if (f)
      throw new FenceError(
        'PREEMPTED',
        `pre-empted by fence ${f.id ?? '(starting)'}: ${action} of ${name} not issued`,
        f.id ? { fence: f.id } : undefined,
      )
    if (action !== 'off') this.checkHold(name, action === 'cycle' ? 'cycle' : 'on', req)
  }

  private operate(
    kind: OperationKind,
    action: OperationAction,
    nodes: NodeConfig[],
    req: OperationRequest,
    priority: Priority,
    work: (ctx: Ctx) => Promise<Partial<NodeResult>>,
    hooks: RunHooks = {},
  ): Promise<Operation> {
    if (this.closed) return Promise.reject(new FenceError('ENGINE_CLOSED', 'the engine is shutting down'))
    // replica mode without a live lease: a clear 503 naming the cause, never a device touched
    try {
      this.coordinator.checkAvailable()
    } catch (e) {
      return Promise.reject(e)
    }
    const p = this.runOperation(kind, action, nodes, req, priority, work, hooks)
    this.inflight.add(p)
    p.finally(() => this.inflight.delete(p)).catch(() => {})
    return p
  }

  private async runOperation(
    kind: OperationKind,
    action: OperationAction,
    nodes: NodeConfig[],
    req: OperationRequest,
    priority: Priority,
    work: (ctx: Ctx) => Promise<Partial<NodeResult>>,
    hooks: RunHooks,
  ): Promise<Operation> {
    const op = this.records.create(
      kind,
      action,
      nodes.map((n) => n.name),
      req.initiator,
    )
    const deadline = new Deadline(req.timeoutMs ?? this.config.engine.defaultTimeoutMs, req.signal)
    let onDisk = false
    try {
      // rule 8: the intent is durable before any device is touched
      await this.records.intent(
        op,
        () => {
          onDisk = true
        },
        deadline.signal,
      )
      const durable = hooks.durable?.(op)
      if (durable) await untilAborted(durable, deadline.signal)
    } catch (e) {
      const err = toFenceError(e)
      op.results = nodes.map((n) => failed(n.name, action, err, [], 0))
      // an intent on disk (etcd refused it after, or a hook failed) gets its results: else the
      // next start would report the operation interrupted, outcome unknown, though nothing ran
      if (onDisk) for (const r of op.results) await this.records.result(op, r)
      const left = deadline.remaining()
      this.finish(op, deadline)
      // an intent already in etcd gets its result (no-op when it never got there)
      await this.late(this.records.recordResult(op), left)
      // etcd could not take the intent: nothing was touched; the caller gets the 503 and its cause
      if (err.code === 'COORDINATION_UNAVAILABLE') throw err
      return op
    }
    // only now is the operation's id handed out (a 202 names an operation that survives a crash)
    hooks.created?.(op)
    req.onStart?.(op)
    this.emit({ type: 'operation', phase: 'started', op })
    let done = 0
    op.results = await Promise.all(
      nodes.map(async (node) => {
        const started = monotonicNow()
        const exclusive = kind === 'fence' ? undefined : this.enterNode(node.name)
        const nodeDeadline = exclusive
          ? new Deadline(
              deadline.remaining(),
              AbortSignal.any([deadline.signal, exclusive.controller.signal]),
            )
          : deadline
        const ctx: Ctx = {
          node,
          op: op.id,
          deadline: nodeDeadline,
          priority,
          attempts: [],
          states: new Map(),
          ...(exclusive
            ? {
                guard: (a: 'on' | 'off' | 'cycle') => {
                  this.guard(node.name, a, req)
                  if (this.coordinator.mode === 'single') return
                  // replica mode: a fence of the node on another replica, or its hold, read from etcd
                  return untilAborted(
                    this.coordinator.checkNodeHold(node.name, a, req.initiator.role),
                    nodeDeadline.signal,
                  ).then(() => this.guard(node.name, a, req))
                },
                track: (p: Promise<void>) => {
                  exclusive.calls.add(p)
                  void p.then(() => exclusive.calls.delete(p))
                },
              }
            : {}),
        }
        let result: NodeResult
        try {
          hooks.before?.(op, ctx)
          const r = await work(ctx)
          result = {
            node: node.name,
            action: action as NodeAction,
            outcome: 'success',
            state: 'unknown',
            ...r,
            attempts: ctx.attempts,
            durationMs: monotonicNow() - started,
          }
        } catch (e) {
          result = failed(node.name, action, toFenceError(e), ctx.attempts, monotonicNow() - started)
          result.state = this.steps.stateOf(ctx)
        } finally {
          if (exclusive) {
            this.leaveNode(node.name, exclusive)
            nodeDeadline.dispose()
          }
        }
        await this.records.result(op, result)
        req.onProgress?.(++done, nodes.length, result)
        this.emit({ type: 'operation', phase: 'progress', op: { ...op, results: [result] } })
        return result
      }),
    )
    const left = deadline.remaining()
    this.finish(op, deadline)
    await this.late(this.records.recordResult(op), left)
    return op
  }

  /**
   * Wait for an etcd write at most `ms` (what is left of the caller's deadline): the answer never
   * waits past its deadline for the cluster's record. The write goes on; close() waits for it.
   * Until it lands other replicas see the operation running (a fence's hold is already there).
   */
  private async late(write: Promise<unknown>, ms: number): Promise<void> {
    const w = write.catch(() => {})
    this.lateWrites.add(w)
    void w.then(() => this.lateWrites.delete(w))
    await untilAborted(w, AbortSignal.timeout(Math.ceil(ms))).catch(() => {})
  }

  /** Register non-fence work on a node (a fence pre-empts it). */
  private enterNode(name: string): NodeWork {
    const w: NodeWork = { controller: new AbortController(), calls: new Set() }
    const set = this.nodeWork.get(name) ?? new Set()
    this.nodeWork.set(name, set)
    set.add(w)
    return w
  }

  private leaveNode(name: string, w: NodeWork): void {
    const set = this.nodeWork.get(name)
    set?.delete(w)
    if (set && !set.size) this.nodeWork.delete(name)
  }

  private finish(op: Operation, deadline: Deadline): Operation {
    deadline.dispose()
    return this.records.finish(op)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.probeTimer) clearInterval(this.probeTimer)
    // operations under way end by their own deadlines: let them, so each gets its result record
    await Promise.allSettled([...this.inflight])
    await Promise.allSettled([...this.lateWrites])
    await Promise.allSettled([...this.runners.values()].map((r) => r.close()))
    await this.coordinator.close()
    await this.journal.close()
  }
}

function driverFor(dev: DeviceConfig, log: Logger): PowerDriver {
  return createDriver(
    { kind: dev.driver, config: dev.config },
    {
      deviceId: dev.id,
      readSecret: (ref, field) => readSecret(ref, `devices.${dev.id}.${field}`),
      log: (level, msg, fields) => log[level]({ device: dev.id, ...fields }, msg),
    },
  )
}

function info(n: NodeConfig): NodeInfo {
  return {
    name: n.name,
    levels: n.levels,
    powerWaitMs: n.powerWaitMs,
    fenceAction: n.fenceAction,
    ...(n.group !== undefined ? { group: n.group } : {}),
  }
}

function failed(
  node: string,
  action: OperationAction,
  err: FenceError,
  attempts: Attempt[],
  durationMs: number,
): NodeResult {
  const partial = (err as { partial?: Partial<NodeResult> }).partial
  return {
    node,
    action: action as NodeAction,
    outcome: 'failed',
    state: 'unknown',
    ...(partial ?? {}),
    error: { code: err.code, message: err.message },
    attempts,
    durationMs,
  }
}

/** The last-known plug states, telling `changed` of every plug whose state is new. */
class WatchedStates extends Map<string, PowerState> {
  constructor(private readonly changed: (key: string) => void) {
    super()
  }

  override set(key: string, state: PowerState): this {
    const before = this.get(key)
    super.set(key, state)
    if (before !== state) this.changed(key)
    return this
  }
}

/**
 * The callers of one fence: its signal aborts only when every one of them has gone (the first
 * caller's hang-up must not cut the fence a joiner still waits for). A caller without a signal
 * never goes.
 */
class Callers {
  private readonly controller = new AbortController()
  private readonly present = new Map<AbortSignal | undefined, number>()
  readonly signal = this.controller.signal

  constructor(first: AbortSignal | undefined) {
    this.add(first)
  }

  add(s: AbortSignal | undefined): void {
    this.present.set(s, (this.present.get(s) ?? 0) + 1)
    s?.addEventListener('abort', () => this.leave(s), { once: true })
  }

  leave(s: AbortSignal | undefined): void {
    const n = this.present.get(s)
    if (n === undefined) return
    if (n > 1) this.present.set(s, n - 1)
    else this.present.delete(s)
    if (this.present.size === 0 && !this.controller.signal.aborted)
      this.controller.abort(s?.reason ?? new FenceError('ABORTED', 'every caller of the fence has gone'))
  }
}
