import { randomUUID } from 'node:crypto'
import type { PowerDriver } from '../../drivers/driver.js'
import { DRIVERS } from '../../drivers/registry.js'
import { Journal } from '../audit/journal.js'
import type { DeviceConfig, GatewayConfig, NodeConfig } from '../config/config.js'
import { readSecret } from '../config/secrets.js'
import { Deadline, monotonicNow } from '../core/deadline.js'
import { FenceError, toFenceError } from '../core/errors.js'
import type { FenceAction, NodeAction, PlugRef, PowerState } from '../core/types.js'
import { plugKey } from '../core/types.js'
import { DeviceRunner, PRIORITY, type Priority } from './device-runner.js'
import { FencingRules } from './fencing-rules.js'
import { nodeState } from './node-state.js'
import { type Ctx, PlugSteps, uniqueRefs } from './plug-steps.js'
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
  private readonly steps: PlugSteps
  private readonly rules: FencingRules

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
    this.steps = new PlugSteps(this.runners, journal, this.known, config.engine)
    this.rules = new FencingRules(this.steps, (device) => this.runners.get(device)!.deviceCycle)
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
      const states = await this.steps.read(refs, deadline.signal, PRIORITY.operator, errors)
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
      this.rules.act(ctx, action, false),
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
    const op = this.operate('fence', want, [node], req, PRIORITY.fence, (ctx) =>
      this.rules.act(ctx, want, true),
    )
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
      return this.rules.act(ctx, action, false)
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
          result.state = this.steps.stateOf(ctx)
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
