import { randomUUID } from 'node:crypto'
import type { PowerDriver } from '../../drivers/driver.js'
import { DRIVERS } from '../../drivers/registry.js'
import { Journal } from '../audit/journal.js'
import type { DeviceConfig, GatewayConfig, NodeConfig } from '../config/config.js'
import { readSecret } from '../config/secrets.js'
import { Deadline, monotonicNow, sleep } from '../core/deadline.js'
import { FenceError, abortError, toFenceError } from '../core/errors.js'
import type { FenceAction, NodeAction, PlugRef, PowerState } from '../core/types.js'
import { plugKey } from '../core/types.js'
import { DeviceRunner, PRIORITY, type Priority } from './device-runner.js'
import { allOff, allOn, nodeState } from './node-state.js'
import type {
  Attempt,
  DeviceHealth,
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
}

/** What one node's work needs: its config, the deadline, where attempts go. */
interface Ctx {
  node: NodeConfig
  op: string
  deadline: Deadline
  priority: Priority
  attempts: Attempt[]
  /** Plugs whose set was issued and not read back since (an aborted set leaves them unknown). */
  states: Map<string, PowerState>
}

const MAX_OPS = 1000

/**
 * The FenceEngine: the only place the fencing rules of design.md live. Drivers know their
 * protocol; the engine decides what to switch, in which order, and when a node counts as off.
 */
export class Engine implements FenceEngine {
  readonly simulated: boolean
  private readonly runners = new Map<string, DeviceRunner>()
  private readonly ops = new Map<string, Operation>()
  private readonly fencing = new Map<string, { action: FenceAction; op: Promise<Operation> }>()
  private readonly holdUntil = new Map<string, number>()
  private readonly listeners = new Set<(op: Operation) => void>()
  /** Last read state of every plug; `unknown` after a set until read back. Never used to decide off. */
  private readonly known = new Map<string, PowerState>()
  private readonly probeTimer: NodeJS.Timeout | undefined
  private closed = false
  /** Operations under way (close() waits for them). */
  private readonly inflight = new Set<Promise<Operation>>()
  private readonly log: Logger

  private constructor(
    readonly config: GatewayConfig,
    readonly journal: Journal,
    opts: EngineOptions,
  ) {
    this.simulated = config.simulated
    this.log = opts.log ?? silent
    const plugsOf = new Map<string, Set<string>>()
    for (const n of config.nodes.values())
      for (const r of n.levels.flat()) {
        if (!plugsOf.has(r.device)) plugsOf.set(r.device, new Set())
        plugsOf.get(r.device)!.add(r.plug)
      }
    for (const dev of config.devices.values()) {
      const plugs = [...(plugsOf.get(dev.id) ?? [])]
      const driver = opts.createDriver ? opts.createDriver(dev, plugs) : createDriver(dev, this.log)
      this.runners.set(
        dev.id,
        new DeviceRunner(dev.id, dev.driver, driver, config.engine, plugs, dev.deviceCycle, (plug, st) =>
          this.known.set(`${dev.id}:${plug}`, st),
        ),
      )
    }
    if (config.engine.probeIntervalMs > 0) {
      this.probeTimer = setInterval(() => this.probeAll(), config.engine.probeIntervalMs)
      this.probeTimer.unref()
      setImmediate(() => this.probeAll())
    }
  }

  /** Open the journal (taking its lock), build the drivers, start the health probes. */
  static async create(config: GatewayConfig, opts: EngineOptions = {}): Promise<Engine> {
    const journal = opts.journal ?? (await Journal.open(config.journal))
    try {
      const engine = new Engine(config, journal, opts)
      for (const r of journal.recovered)
        engine.log.warn(
          { op: r.op, node: r.node, action: r.action },
          'an operation was interrupted: outcome unknown',
        )
      return engine
    } catch (e) {
      if (!opts.journal) await journal.close()
      throw e
    }
  }

  private probeAll(): void {
    if (this.closed) return
    for (const r of this.runners.values())
      void r.probe().then((h) => {
        if (h.state === 'failing') this.log.warn({ device: h.id, error: h.lastError }, 'device probe failed')
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
      }
    })
  }

  async status(names: readonly string[], req: OperationRequest): Promise<NodeStatus[]> {
    const nodes = names.map((n) => this.nodeConfig(n))
    const deadline = new Deadline(req.timeoutMs ?? this.config.engine.defaultTimeoutMs, req.signal)
    try {
      const refs = uniqueRefs(nodes.flatMap((n) => n.levels.flat()))
      const errors = new Map<string, FenceError>()
      const states = await this.read(refs, deadline.signal, PRIORITY.operator, errors)
      return nodes.map((n) => {
        const read = (r: PlugRef) => states.get(plugKey(r)) ?? 'unknown'
        return {
          node: n.name,
          state: nodeState(n.levels, read),
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
    return this.ops.get(id)
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
    return { ...(await r.probe(req.timeoutMs ?? this.config.engine.probeTimeoutMs, PRIORITY.operator)) }
  }

  onOperation(listener: (op: Operation) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  // ---- actions ----------------------------------------------------------------------------

  async power(name: string, action: NodeAction, req: OperationRequest): Promise<Operation> {
    const node = this.nodeConfig(name)
    this.checkHold(node.name, action, req)
    return this.operate('power', action, [node], req, PRIORITY.operator, (ctx) =>
      this.act(ctx, action, false),
    )
  }

  async fence(name: string, action: FenceAction | undefined, req: OperationRequest): Promise<Operation> {
    const node = this.nodeConfig(name)
    const want = action ?? node.fenceAction
    const inflight = this.fencing.get(name)
    if (inflight) {
      if (inflight.action === want) {
        // a second fence of the same node joins the first (rule 7)
        const op = await inflight.op
        return { ...op, results: op.results.map((r) => ({ ...r, joined: true })) }
      }
      await inflight.op.catch(() => {})
    }
    const op = this.operate('fence', want, [node], req, PRIORITY.fence, (ctx) => this.act(ctx, want, true))
    this.fencing.set(name, { action: want, op })
    try {
      return await op
    } finally {
      if (this.fencing.get(name)?.op === op) this.fencing.delete(name)
      this.holdUntil.set(name, monotonicNow() + this.config.engine.fenceHoldMs)
    }
  }

  async bulk(names: readonly string[], action: NodeAction, req: OperationRequest): Promise<Operation> {
    const nodes = names.map((n) => this.nodeConfig(n))
    return this.operate('bulk', action, nodes, req, PRIORITY.operator, (ctx) => {
      this.checkHold(ctx.node.name, action, req)
      return this.act(ctx, action, false)
    })
  }

  /** `on` (and what ends in on) is refused during a fence and for fenceHold after, except to fencers. */
  private checkHold(name: string, action: NodeAction, req: OperationRequest): void {
    if (action === 'off' || req.initiator.role === 'fencer') return
    if (this.fencing.has(name))
      throw new FenceError('FENCE_HOLD', `node ${name} is being fenced: ${action} refused`)
    const until = this.holdUntil.get(name) ?? 0
    const left = until - monotonicNow()
    if (left > 0)
      throw new FenceError(
        'FENCE_HOLD',
        `node ${name} was fenced: ${action} refused for another ${Math.ceil(left / 1000)}s (fenceHold)`,
      )
  }

  private operate(
    kind: OperationKind,
    action: OperationAction,
    nodes: NodeConfig[],
    req: OperationRequest,
    priority: Priority,
    work: (ctx: Ctx) => Promise<Partial<NodeResult>>,
  ): Promise<Operation> {
    if (this.closed) return Promise.reject(new FenceError('ENGINE_CLOSED', 'the engine is shutting down'))
    const p = this.runOperation(kind, action, nodes, req, priority, work)
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
  ): Promise<Operation> {
    const op: Operation = {
      id: randomUUID(),
      kind,
      action,
      nodes: nodes.map((n) => n.name),
      initiator: req.initiator,
      startedAt: new Date().toISOString(),
      status: 'running',
      results: [],
      simulated: this.simulated,
    }
    this.remember(op)
    req.onStart?.(op)
    const deadline = new Deadline(req.timeoutMs ?? this.config.engine.defaultTimeoutMs, req.signal)
    try {
      // rule 8: the intent is on disk before any device is touched
      await this.journal.append(
        { t: 'intent', op: op.id, ts: op.startedAt, kind, action, nodes: op.nodes, initiator: req.initiator },
        true,
      )
    } catch (e) {
      const err = toFenceError(e)
      op.results = nodes.map((n) => failed(n.name, action, err, [], 0))
      return this.finish(op, deadline)
    }
    let done = 0
    op.results = await Promise.all(
      nodes.map(async (node) => {
        const started = monotonicNow()
        const ctx: Ctx = { node, op: op.id, deadline, priority, attempts: [], states: new Map() }
        let result: NodeResult
        try {
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
          result.state = nodeState(node.levels, (r) => ctx.states.get(plugKey(r)) ?? 'unknown')
        }
        await this.journal
          .append(
            {
              t: 'result',
              op: op.id,
              ts: new Date().toISOString(),
              node: node.name,
              outcome: result.outcome,
              ...(result.level !== undefined ? { level: result.level } : {}),
              ...(result.onVerified !== undefined ? { onVerified: result.onVerified } : {}),
              ...(result.error ? { error: result.error } : {}),
            },
            true,
          )
          .catch((e) =>
            this.log.error({ op: op.id, err: (e as Error).message }, 'journal result write failed'),
          )
        req.onProgress?.(++done, nodes.length, result)
        return result
      }),
    )
    return this.finish(op, deadline)
  }

  private finish(op: Operation, deadline: Deadline): Operation {
    deadline.dispose()
    op.status = op.results.every((r) => r.outcome === 'success') ? 'succeeded' : 'failed'
    op.finishedAt = new Date().toISOString()
    for (const r of op.results) {
      const fields = {
        op: op.id,
        node: r.node,
        action: op.action,
        kind: op.kind,
        outcome: r.outcome,
        level: r.level,
        by: op.initiator.name,
      }
      if (r.outcome === 'success') this.log.info(fields, `${op.kind} ${op.action} ${r.node}: success`)
      else this.log.warn({ ...fields, error: r.error }, `${op.kind} ${op.action} ${r.node}: failed`)
      if (r.onVerified === false)
        this.log.warn(
          { ...fields, onError: r.onError },
          `${r.node}: power-on after ${op.action} not verified`,
        )
    }
    for (const l of this.listeners) l(op)
    return op
  }

  private remember(op: Operation): void {
    this.ops.set(op.id, op)
    if (this.ops.size > MAX_OPS) this.ops.delete(this.ops.keys().next().value!)
  }

  // ---- the fencing rules ------------------------------------------------------------------

  private async act(ctx: Ctx, action: NodeAction, fence: boolean): Promise<Partial<NodeResult>> {
    switch (action) {
      case 'off': {
        const r = await this.off(ctx)
        return { state: 'off', level: r.level, ...(r.already ? { already: true } : {}) }
      }
      case 'on': {
        const already = await this.on(ctx)
        return { state: 'on', ...(already ? { already: true } : {}) }
      }
      case 'reboot':
        return this.reboot(ctx)
      case 'cycle':
        if (fence) throw new FenceError('UNSUPPORTED_ACTION', 'fencing never cycles (rule 2)')
        return this.cycle(ctx)
    }
  }

  /**
   * Rules 1–4: per level, cancel pending device commands, read, hard off every plug not read
   * off, then read back until every plug of the level reads off. A level that fails hands over
   * to the next; each level gets a fair share of the time left, the last one all of it.
   */
  private async off(ctx: Ctx): Promise<{ level: number; already: boolean }> {
    const { levels } = ctx.node
    const failures: string[] = []
    let last: FenceError | undefined
    for (let i = 0; i < levels.length; i++) {
      ctx.deadline.check()
      const level = levels[i]!
      const share =
        i === levels.length - 1
          ? undefined
          : ctx.deadline.child(ctx.deadline.remaining() / (levels.length - i))
      const signal = share?.signal ?? ctx.deadline.signal
      try {
        await this.cancelPending(level, i + 1, ctx, signal)
        const states = await this.readLevel(level, i + 1, ctx, signal, 'status')
        if (allOff(level, (r) => states.get(plugKey(r)) ?? 'unknown')) return { level: i + 1, already: true }
        await this.switch(
          level.filter((r) => states.get(plugKey(r)) !== 'off'),
          'off',
          i + 1,
          ctx,
          signal,
        )
        await this.until(level, 'off', i + 1, ctx, signal)
        return { level: i + 1, already: false }
      } catch (e) {
        last = toFenceError(e)
        failures.push(`level ${i + 1}: ${last.message}`)
        if (ctx.deadline.expired) break
      } finally {
        share?.dispose()
      }
    }
    const code = last?.code ?? 'DEADLINE_EXCEEDED'
    throw new FenceError(
      code,
      failures.length > 1 ? failures.join('; ') : (last?.message ?? 'no level was tried'),
    )
  }

  /** Every plug of every level on, the last level first (a PDU feeds the BMC of level 1). */
  private async on(ctx: Ctx): Promise<boolean> {
    const { levels } = ctx.node
    let already = true
    const seen = new Set<string>()
    for (let i = levels.length - 1; i >= 0; i--) {
      const level = levels[i]!.filter((r) => !seen.has(plugKey(r)))
      for (const r of level) seen.add(plugKey(r))
      if (!level.length) continue
      const signal = ctx.deadline.signal
      const states = await this.readLevel(level, i + 1, ctx, signal, 'status')
      const todo = level.filter((r) => states.get(plugKey(r)) !== 'on')
      if (!todo.length) continue
      already = false
      ctx.deadline.check()
      await this.switch(todo, 'on', i + 1, ctx, signal)
      await this.until(level, 'on', i + 1, ctx, signal)
    }
    return already
  }

  /** Reboot (fence or operator): verified off, powerWait, on. Success is the off (rule 3). */
  private async reboot(ctx: Ctx): Promise<Partial<NodeResult>> {
    const off = await this.off(ctx)
    const result: Partial<NodeResult> = { level: off.level, state: 'off' }
    try {
      await sleep(ctx.node.powerWaitMs, ctx.deadline.signal)
      await this.on(ctx)
      return { ...result, state: 'on', onVerified: true }
    } catch (e) {
      const err = toFenceError(e)
      return {
        ...result,
        state: this.stateOf(ctx),
        onVerified: false,
        onError: { code: err.code, message: err.message },
      }
    }
  }

  /**
   * An operator's cycle: a node that is off is powered on (rule 5); the device's own cycle only
   * where the config allows it for every plug of level 1; otherwise off, verify, wait, on.
   */
  private async cycle(ctx: Ctx): Promise<Partial<NodeResult>> {
    const levels = ctx.node.levels
    const all = uniqueRefs(levels.flat())
    const states = await this.readLevel(all, 0, ctx, ctx.deadline.signal, 'status')
    const state = nodeState(levels, (r) => states.get(plugKey(r)) ?? 'unknown')
    if (state === 'off') {
      await this.on(ctx)
      return { state: 'on', onVerified: true }
    }
    const first = levels[0]!
    if (state === 'on' && first.every((r) => this.runners.get(r.device)!.deviceCycle)) {
      await this.switch(first, 'cycle', 1, ctx, ctx.deadline.signal)
      await this.until(first, 'on', 1, ctx, ctx.deadline.signal)
      return { state: 'on', level: 1, onVerified: true }
    }
    const r = await this.reboot(ctx)
    if (!r.onVerified) {
      const err = new FenceError(
        r.onError?.code ?? 'VERIFY_FAILED',
        `off verified, power-on failed: ${r.onError?.message ?? ''}`,
      )
      throw Object.assign(err, { partial: r })
    }
    return r
  }

  // ---- steps ------------------------------------------------------------------------------

  private stateOf(ctx: Ctx): PowerState {
    return nodeState(ctx.node.levels, (r) => ctx.states.get(plugKey(r)) ?? 'unknown')
  }

  private async cancelPending(
    level: readonly PlugRef[],
    lv: number,
    ctx: Ctx,
    signal: AbortSignal,
  ): Promise<void> {
    await Promise.all(
      [...groupByDevice(level)].map(async ([device, plugs]) => {
        const runner = this.runners.get(device)!
        if (!runner.driver.cancelPending) return
        const started = monotonicNow()
        try {
          const o = await runner.cancelPending(plugs, { priority: ctx.priority, signal })
          for (const plug of plugs)
            ctx.attempts.push({
              level: lv,
              device,
              plug,
              step: 'cancel',
              outcome: 'ok',
              tries: o?.tries ?? 1,
              durationMs: o?.durationMs ?? 0,
            })
        } catch (e) {
          const err = toFenceError(e)
          for (const plug of plugs) ctx.attempts.push(failedAttempt(lv, device, plug, 'cancel', err, started))
          throw err
        }
      }),
    )
  }

  /** Read plugs now (one batched round per device); record one attempt per plug. */
  private async readLevel(
    refs: readonly PlugRef[],
    lv: number,
    ctx: Ctx,
    signal: AbortSignal,
    step: 'status' | 'verify',
    record = true,
  ): Promise<Map<string, PowerState>> {
    const started = monotonicNow()
    const errors = new Map<string, FenceError>()
    const states = await this.read(refs, signal, ctx.priority, errors)
    for (const r of refs) {
      const k = plugKey(r)
      ctx.states.set(k, states.get(k) ?? 'unknown')
      if (!record) continue
      const err = errors.get(k)
      if (err) ctx.attempts.push(failedAttempt(lv, r.device, r.plug, step, err, started))
      else
        ctx.attempts.push({
          level: lv,
          device: r.device,
          plug: r.plug,
          step,
          outcome: 'ok',
          state: states.get(k)!,
          tries: 1,
          durationMs: monotonicNow() - started,
        })
    }
    const firstErr = errors.values().next().value
    if (firstErr && signal.aborted) throw firstErr
    if (firstErr && errors.size === refs.length) throw firstErr
    return states
  }

  /** Batched reads across devices; failures become `unknown` and are reported in `errors`. */
  private async read(
    refs: readonly PlugRef[],
    signal: AbortSignal,
    priority: Priority,
    errors: Map<string, FenceError>,
  ): Promise<Map<string, PowerState>> {
    const out = new Map<string, PowerState>()
    await Promise.all(
      [...groupByDevice(refs)].map(async ([device, plugs]) => {
        try {
          const o = await this.runners.get(device)!.status(plugs, { priority, signal })
          for (const [p, s] of o.value) {
            out.set(`${device}:${p}`, s)
            this.known.set(`${device}:${p}`, s)
          }
        } catch (e) {
          const err = toFenceError(e)
          for (const p of plugs) {
            out.set(`${device}:${p}`, 'unknown')
            errors.set(`${device}:${p}`, err)
          }
        }
      }),
    )
    return out
  }

  /** Issue a command to each plug (devices in parallel, FIFO within a device); throw the first failure after all. */
  private async switch(
    refs: readonly PlugRef[],
    action: 'on' | 'off' | 'cycle',
    lv: number,
    ctx: Ctx,
    signal: AbortSignal,
  ): Promise<void> {
    const errors: FenceError[] = []
    await Promise.all(
      refs.map(async (r) => {
        const k = plugKey(r)
        const started = monotonicNow()
        try {
          if (signal.aborted) throw toFenceError(signal.reason)
          ctx.deadline.check() // past the deadline no mutating step is issued (rule 6)
          // from here until read back, the plug's state is unknown
          this.known.set(k, 'unknown')
          ctx.states.set(k, 'unknown')
          void this.journal
            .append(
              {
                t: 'step',
                op: ctx.op,
                ts: new Date().toISOString(),
                node: ctx.node.name,
                level: lv,
                device: r.device,
                plug: r.plug,
                step: action,
                outcome: 'issued',
              },
              false,
            )
            .catch(() => {})
          const o = await this.runners.get(r.device)!.set(r.plug, action, { priority: ctx.priority, signal })
          ctx.attempts.push({
            level: lv,
            device: r.device,
            plug: r.plug,
            step: action,
            outcome: 'ok',
            tries: o.tries,
            durationMs: o.durationMs,
          })
        } catch (e) {
          const err = toFenceError(e)
          ctx.attempts.push(failedAttempt(lv, r.device, r.plug, action, err, started))
          errors.push(err)
        }
      }),
    )
    if (errors.length) throw errors[0]
  }

  /** Read back until every plug reads `want` (rule 1): polls issued after the sets completed. */
  private async until(
    refs: readonly PlugRef[],
    want: 'on' | 'off',
    lv: number,
    ctx: Ctx,
    signal: AbortSignal,
  ): Promise<void> {
    let interval = this.config.engine.verifyPollMs
    let polls = 0
    const started = monotonicNow()
    let states = new Map<string, PowerState>()
    /** The last on/off each plug read, for the message when a later read failed. */
    const lastGood = new Map<string, PowerState>()
    let lastError: FenceError | undefined
    for (;;) {
      polls++
      const errors = new Map<string, FenceError>()
      try {
        states = await this.read(refs, signal, ctx.priority, errors)
      } catch (e) {
        lastError = toFenceError(e)
      }
      lastError = errors.values().next().value ?? lastError
      for (const r of refs) {
        const st = states.get(plugKey(r)) ?? 'unknown'
        ctx.states.set(plugKey(r), st)
        if (st !== 'unknown') lastGood.set(plugKey(r), st)
      }
      const read = (r: PlugRef) => states.get(plugKey(r)) ?? 'unknown'
      const ok = want === 'off' ? allOff(refs, read) : allOn(refs, read)
      if (ok || signal.aborted) {
        for (const r of refs)
          ctx.attempts.push({
            level: lv,
            device: r.device,
            plug: r.plug,
            step: 'verify',
            outcome: read(r) === want ? 'ok' : 'failed',
            state: read(r),
            tries: polls,
            durationMs: monotonicNow() - started,
            ...(read(r) === want
              ? {}
              : { code: 'VERIFY_FAILED' as const, message: `read ${read(r)}, wanted ${want}` }),
          })
        if (ok) return
        const wrong = refs
          .filter((r) => read(r) !== want)
          .map((r) => {
            const k = plugKey(r)
            const before = lastGood.get(k)
            return read(r) === 'unknown' && before ? `${k} last read ${before}` : `${k} reads ${read(r)}`
          })
        const why = `${wrong.join(', ')} after ${polls} read-backs${lastError ? `; last error: ${lastError.message}` : ''}`
        // the deadline (or the caller) ended the wait: say so, with what the plugs read
        const cause = abortError(signal)
        throw new FenceError(
          cause.code === 'ABORTED' ? 'ABORTED' : 'DEADLINE_EXCEEDED',
          `timed out waiting for ${want}: ${why}`,
        )
      }
      try {
        await sleep(interval, signal)
      } catch {
        // deadline: one more pass records the attempts and throws
      }
      interval = Math.min(interval * 2, 1000)
    }
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.probeTimer) clearInterval(this.probeTimer)
    // operations under way end by their own deadlines: let them, so each gets its result record
    await Promise.allSettled([...this.inflight])
    await Promise.allSettled([...this.runners.values()].map((r) => r.close()))
    await this.journal.close()
  }
}

function createDriver(dev: DeviceConfig, log: Logger): PowerDriver {
  const factory = DRIVERS.get(dev.driver)
  if (!factory) throw new FenceError('CONFIG_INVALID', `device ${dev.id}: unknown driver ${dev.driver}`)
  return factory.create(dev.config, {
    deviceId: dev.id,
    readSecret: (ref, field) => readSecret(ref, `devices.${dev.id}.${field}`),
    log: (level, msg, fields) => log[level]({ device: dev.id, ...fields }, msg),
  })
}

function info(n: NodeConfig): NodeInfo {
  return { name: n.name, levels: n.levels, powerWaitMs: n.powerWaitMs, fenceAction: n.fenceAction }
}

function uniqueRefs(refs: readonly PlugRef[]): PlugRef[] {
  const seen = new Map<string, PlugRef>()
  for (const r of refs) seen.set(plugKey(r), r)
  return [...seen.values()]
}

function groupByDevice(refs: readonly PlugRef[]): Map<string, string[]> {
  const m = new Map<string, string[]>()
  for (const r of refs) {
    const list = m.get(r.device) ?? []
    if (!list.includes(r.plug)) list.push(r.plug)
    m.set(r.device, list)
  }
  return m
}

function failedAttempt(
  level: number,
  device: string,
  plug: string,
  step: Attempt['step'],
  err: FenceError,
  started: number,
): Attempt {
  return {
    level,
    device,
    plug,
    step,
    outcome: 'failed',
    code: err.code,
    message: err.message,
    tries: (err as { tries?: number }).tries ?? 1,
    durationMs: monotonicNow() - started,
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
