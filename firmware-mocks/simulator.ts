import { EventEmitter } from 'node:events'

/**
 * The device model every firmware mock shares: outlets with a physical power state, a
 * transition delay (real relays and BMCs are not instant), delayed commands, and fault
 * injection. A simulator is an instance: no module-level state, so tests run in parallel.
 *
 * The protocol side of a mock (SNMP agent, pty, UDP…) calls `faults.decide()` once per
 * request it receives and honours the answer; the model itself honours `lie`.
 */

export type FaultType = 'drop' | 'delay' | 'garble' | 'stall' | 'disconnect' | 'lie'
export const FAULT_TYPES: readonly FaultType[] = ['drop', 'delay', 'garble', 'stall', 'disconnect', 'lie']

export interface FaultSpec {
  type: FaultType
  /** delay: how long each answer is held back. */
  ms?: number
  /** How many requests (for `lie`: commands) it affects; absent = until cleared. */
  count?: number
  /** lie: only these plugs (absent = all). */
  plugs?: string[]
}

/** What the protocol layer does with one request. */
export interface FaultDecision {
  /** Swallow the request, answer nothing. */
  drop: boolean
  /** Hold the answer back this long. */
  delayMs: number
  /** Corrupt the answer's bytes. */
  garble: boolean
  /** Accept the request and never answer (the connection stays open). */
  stall: boolean
  /** Close the connection (or, for datagrams, behave as a vanished host). */
  disconnect: boolean
}

interface ActiveFault extends FaultSpec {
  remaining: number
}

export class FaultInjector {
  private faults: ActiveFault[] = []

  add(spec: FaultSpec): void {
    this.faults.push({ ...spec, remaining: spec.count ?? Number.POSITIVE_INFINITY })
  }

  clear(): void {
    this.faults = []
  }

  list(): FaultSpec[] {
    return this.faults.map(({ remaining: _r, ...spec }) => spec)
  }

  /** Called once per received request; consumes one count of each fault that fires. */
  decide(): FaultDecision {
    const d: FaultDecision = { drop: false, delayMs: 0, garble: false, stall: false, disconnect: false }
    for (const f of this.faults) {
      if (f.type === 'lie' || f.remaining <= 0) continue
      f.remaining--
      if (f.type === 'delay') d.delayMs += f.ms ?? 1000
      else d[f.type] = true
    }
    this.prune()
    return d
  }

  /** Should this command be acknowledged and ignored? Consumes one count of the lie. */
  lies(plug: string): boolean {
    const f = this.faults.find(
      (x) => x.type === 'lie' && x.remaining > 0 && (!x.plugs || x.plugs.includes(plug)),
    )
    if (!f) return false
    f.remaining--
    this.prune()
    return true
  }

  private prune(): void {
    this.faults = this.faults.filter((f) => f.remaining > 0)
  }
}

/** Garble bytes the way a noisy line does: flip bits in about a third of them, keep the length. */
export function garbleBytes(buf: Buffer): Buffer {
  const out = Buffer.from(buf)
  for (let i = 0; i < out.length; i++) if (i % 3 === 1) out[i] = out[i]! ^ 0x5a
  return out
}

export type PhysicalState = 'on' | 'off'

export interface OutletSpec {
  id: string
  name?: string
  state?: PhysicalState
}

export interface SimulatorOptions {
  /** A count (ids `1`…`N`), ids, or full specs. */
  plugs: number | readonly (string | OutletSpec)[]
  /** Time from an accepted command to the outlet's new state. */
  transitionDelayMs?: number
  /** Off time of the device's own cycle. */
  cycleOffMs?: number
  /** Power state of every outlet at start (a PDU's power-on setting). */
  initial?: PhysicalState
}

export interface Outlet {
  readonly id: string
  name: string
  state: PhysicalState
  /** A command accepted and not yet applied (transition under way or delayed command). */
  pending: PendingCommand | undefined
}

interface PendingCommand {
  action: 'on' | 'off' | 'cycle'
  timers: NodeJS.Timeout[]
}

export interface CommandRecord {
  plug: string
  action: 'on' | 'off' | 'cycle'
  at: number
  ignored: boolean
}

export class NoSuchOutletError extends Error {
  constructor(readonly plug: string) {
    super(`no such outlet: ${plug}`)
    this.name = 'NoSuchOutletError'
  }
}

/**
 * Client sessions open on the device at once (a TCP connection, a login). A real serial switch or
 * a telnet PDU takes one session: a second one while the first is open is an overlap, counted here
 * and shown on the lab's control API (replica tests: it must stay 0).
 */
export class SessionCounter {
  open = 0
  maxOpen = 0
  overlaps = 0
  total = 0
  /** A session began; call the returned function (once) when it ends. */
  begin(): () => void {
    this.total++
    if (this.open > 0) this.overlaps++
    this.open++
    this.maxOpen = Math.max(this.maxOpen, this.open)
    let ended = false
    return () => {
      if (ended) return
      ended = true
      this.open--
    }
  }
  view(): { open: number; maxOpen: number; overlaps: number; total: number } {
    return { open: this.open, maxOpen: this.maxOpen, overlaps: this.overlaps, total: this.total }
  }
}

export class DeviceSimulator extends EventEmitter<{ change: [plug: string, state: PhysicalState] }> {
  readonly outlets = new Map<string, Outlet>()
  readonly faults = new FaultInjector()
  /** Sessions of clients (mocks whose protocol has sessions count them here). */
  readonly sessions = new SessionCounter()
  /** Every command the device accepted, for tests (did a client switch the same outlet twice?). */
  readonly commands: CommandRecord[] = []
  transitionDelayMs: number
  cycleOffMs: number

  constructor(opts: SimulatorOptions) {
    super()
    this.transitionDelayMs = opts.transitionDelayMs ?? 0
    this.cycleOffMs = opts.cycleOffMs ?? 1000
    const specs: OutletSpec[] =
      typeof opts.plugs === 'number'
        ? Array.from({ length: opts.plugs }, (_, i) => ({ id: String(i + 1) }))
        : opts.plugs.map((p) => (typeof p === 'string' ? { id: p } : p))
    for (const s of specs) {
      this.outlets.set(s.id, {
        id: s.id,
        name: s.name ?? `Outlet ${s.id}`,
        state: s.state ?? opts.initial ?? 'on',
        pending: undefined,
      })
    }
  }

  plugIds(): string[] {
    return [...this.outlets.keys()]
  }

  outlet(plug: string): Outlet {
    const o = this.outlets.get(plug)
    if (!o) throw new NoSuchOutletError(plug)
    return o
  }

  has(plug: string): boolean {
    return this.outlets.has(plug)
  }

  /** The true physical state, what a meter on the outlet would show. */
  state(plug: string): PhysicalState {
    return this.outlet(plug).state
  }

  /**
   * A command the device accepted over its protocol. Applied after `transitionDelayMs`
   * (plus `afterMs` for delayed commands), unless the device is lying.
   * Returns false when it was acknowledged and ignored (the `lie` fault).
   */
  command(plug: string, action: 'on' | 'off' | 'cycle', afterMs = 0): boolean {
    const o = this.outlet(plug)
    const ignored = this.faults.lies(plug)
    this.commands.push({ plug, action, at: Date.now(), ignored })
    if (ignored) return false
    this.cancelPending(plug)
    const timers: NodeJS.Timeout[] = []
    const apply = (state: PhysicalState, ms: number, last: boolean) => {
      const t = setTimeout(() => {
        this.apply(o, state)
        if (last) o.pending = undefined
      }, ms)
      timers.push(t)
    }
    const start = afterMs + this.transitionDelayMs
    if (action === 'cycle') {
      apply('off', start, false)
      apply('on', start + this.cycleOffMs, true)
    } else {
      apply(action, start, true)
    }
    o.pending = { action, timers }
    if (start === 0 && action !== 'cycle') {
      // instant devices: apply synchronously so a status read right after sees it
      for (const t of timers) clearTimeout(t)
      o.pending = undefined
      this.apply(o, action)
    }
    return true
  }

  /** Cancel a command not yet applied (APC cancelPendingCommand). */
  cancelPending(plug: string): boolean {
    const o = this.outlet(plug)
    if (!o.pending) return false
    for (const t of o.pending.timers) clearTimeout(t)
    o.pending = undefined
    return true
  }

  /** Set the physical state directly (the lab's control API, a scenario's set-up). */
  setPhysical(plug: string, state: PhysicalState): void {
    const o = this.outlet(plug)
    this.cancelPending(plug)
    this.apply(o, state)
  }

  private apply(o: Outlet, state: PhysicalState): void {
    if (o.state === state) return
    o.state = state
    this.emit('change', o.id, state)
  }

  describe(): { id: string; name: string; state: PhysicalState; pending: boolean }[] {
    return [...this.outlets.values()].map((o) => ({
      id: o.id,
      name: o.name,
      state: o.state,
      pending: !!o.pending,
    }))
  }

  /** Stop every timer (the mock is being shut down). */
  close(): void {
    for (const o of this.outlets.values()) if (o.pending) this.cancelPending(o.id)
    this.removeAllListeners()
  }
}
