/**
 * Simulated power devices for the model checker: a shared "physical" plant of plugs, and
 * PowerDriver implementations over it whose every call follows a scripted latency and fault.
 *
 * The plant records every driver call (start, when a set reached the device, when the call's
 * promise settled, what a status read returned) so that the invariants can be judged from the
 * outside, against what the devices really saw, not against what the engine says it did.
 */
import { performance } from 'node:perf_hooks'
import type { PlugInfo, PowerDriver } from '../../drivers/driver.js'
import { FenceError, abortError } from '../../core/errors.js'
import type { DeviceAction, PowerState } from '../../core/types.js'

/**
 * What can go wrong with one driver call:
 * - drop: the request is lost, the driver times out (DEVICE_TIMEOUT), nothing switched;
 * - delay: the answer comes late;
 * - stall: no answer at all until the call is aborted;
 * - garble: a read returns a plug as unknown (or the answer is unparseable); a set's ack is
 *   unparseable although the command reached the device;
 * - lie: a set is acknowledged and does nothing (a stuck relay); reads tell the truth;
 * - disconnect: the connection drops before the command is sent (CONNECTION_LOST).
 */
export type Fault = 'none' | 'drop' | 'delay' | 'stall' | 'garble' | 'lie' | 'disconnect'
export const FAULTS: readonly Fault[] = ['none', 'drop', 'delay', 'stall', 'garble', 'lie', 'disconnect']

/** The decisions for one driver call, drawn by the scenario (so a run is replayable). */
export interface CallScript {
  latencyMs: number
  fault: Fault
  /** How long the driver takes to notice an abort (0: at once, as the contract asks). */
  abortLagMs: number
}

export interface DriverCall {
  id: number
  engine: number
  device: string
  kind: 'status' | 'set' | 'cancel' | 'plugs'
  plugs: string[]
  action?: DeviceAction
  fault: Fault
  start: number
  /** When a set's command reached the device (a lie also reaches it; it just does nothing). */
  reached?: number
  /** When the call's promise settled. */
  end?: number
  result?: Record<string, PowerState>
  error?: string
  abortedAt?: number
}

export interface Overlap {
  device: string
  calls: number[]
  at: number
}

const now = (): number => performance.now()

/** The physical side: every plug's power, with a transition delay, and the record of calls. */
export class Plant {
  readonly power = new Map<string, 'on' | 'off'>()
  readonly calls: DriverCall[] = []
  readonly overlaps: Overlap[] = []
  private readonly inFlight = new Map<string, Set<DriverCall>>()
  private readonly scripts: Map<string, CallScript[]>
  private readonly cursor = new Map<string, number>()
  private readonly timers = new Set<NodeJS.Timeout>()
  /** Faults apply until healed; after that every call answers cleanly. */
  faulty = true
  private nextId = 1

  constructor(
    initial: Record<string, 'on' | 'off'>,
    scripts: Record<string, CallScript[]>,
    readonly transitionMs: number,
  ) {
    for (const [k, v] of Object.entries(initial)) this.power.set(k, v)
    this.scripts = new Map(Object.entries(scripts))
  }

  /** Tests: pick a call's script by what it is (else the device's list is cycled). */
  pick?: (
    device: string,
    kind: DriverCall['kind'],
    plugs: string[],
    action?: DeviceAction,
  ) => CallScript | undefined

  nextScript(device: string, kind: DriverCall['kind'], plugs: string[], action?: DeviceAction): CallScript {
    const picked = this.pick?.(device, kind, plugs, action)
    if (picked) return picked
    const list = this.scripts.get(device) ?? []
    const i = this.cursor.get(device) ?? 0
    this.cursor.set(device, i + 1)
    const s = list.length ? list[i % list.length]! : { latencyMs: 1, fault: 'none' as const, abortLagMs: 0 }
    return this.faulty ? s : { latencyMs: Math.min(s.latencyMs, 2), fault: 'none', abortLagMs: 0 }
  }

  begin(call: Omit<DriverCall, 'id' | 'start'>): DriverCall {
    const c: DriverCall = { ...call, id: this.nextId++, start: now() }
    this.calls.push(c)
    const set = this.inFlight.get(c.device) ?? new Set()
    this.inFlight.set(c.device, set)
    set.add(c)
    if (set.size > 1) this.overlaps.push({ device: c.device, calls: [...set].map((x) => x.id), at: c.start })
    return c
  }

  end(c: DriverCall): void {
    c.end = now()
    this.inFlight.get(c.device)?.delete(c)
  }

  /** Calls of an engine that are still running (for a crash: they die with it). */
  running(engine: number): DriverCall[] {
    return [...this.inFlight.values()].flatMap((s) => [...s].filter((c) => c.engine === engine))
  }

  apply(device: string, plug: string, action: DeviceAction): void {
    const k = `${device}:${plug}`
    const to = (st: 'on' | 'off', after: number) =>
      this.later(after, () => {
        if (this.power.has(k)) this.power.set(k, st)
      })
    if (action === 'cycle') {
      to('off', this.transitionMs)
      to('on', this.transitionMs * 2 + 1)
    } else to(action, this.transitionMs)
  }

  read(device: string, plug: string): PowerState {
    return this.power.get(`${device}:${plug}`) ?? 'unknown'
  }

  later(ms: number, f: () => void): void {
    if (ms <= 0) {
      f()
      return
    }
    const t = setTimeout(() => {
      this.timers.delete(t)
      f()
    }, ms)
    this.timers.add(t)
  }

  heal(): void {
    this.faulty = false
  }

  dispose(): void {
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
  }
}

/** A PowerDriver over the plant. One instance per device per engine incarnation. */
export class SimDriver implements PowerDriver {
  readonly kind = 'sim'
  private dead = false
  private readonly kills = new Set<() => void>()

  constructor(
    private readonly plant: Plant,
    readonly device: string,
    readonly engine: number,
    private readonly plugIds: readonly string[],
    withCancel: boolean,
  ) {
    if (!withCancel) this.cancelPending = undefined
  }

  plugs(call: { signal: AbortSignal }): Promise<PlugInfo[]> {
    return this.call('plugs', [], undefined, call.signal).then(() => this.plugIds.map((id) => ({ id })))
  }

  status(plugs: readonly string[], call: { signal: AbortSignal }): Promise<Map<string, PowerState>> {
    return this.call('status', [...plugs], undefined, call.signal) as Promise<Map<string, PowerState>>
  }

  set(plug: string, action: DeviceAction, call: { signal: AbortSignal }): Promise<void> {
    return this.call('set', [plug], action, call.signal).then(() => undefined)
  }

  cancelPending?: (plugs: readonly string[], call: { signal: AbortSignal }) => Promise<void> = (
    plugs,
    call,
  ) => this.call('cancel', [...plugs], undefined, call.signal).then(() => undefined)

  /** The process died: its calls end now and it never touches a device again. */
  kill(): void {
    this.dead = true
    for (const k of [...this.kills]) k()
  }

  /** The engine releases the device: a call still in flight ends with the connection. */
  async close(): Promise<void> {
    for (const k of [...this.kills]) k()
  }

  private call(
    kind: DriverCall['kind'],
    plugs: string[],
    action: DeviceAction | undefined,
    signal: AbortSignal,
  ): Promise<Map<string, PowerState> | undefined> {
    const plant = this.plant
    if (this.dead) return Promise.reject(new FenceError('CONNECTION_LOST', 'the gateway process is gone'))
    const script = plant.nextScript(this.device, kind, plugs, action)
    const c = plant.begin({
      engine: this.engine,
      device: this.device,
      kind,
      plugs,
      action,
      fault: script.fault,
    })
    return new Promise((resolve, reject) => {
      let settled = false
      const timers: NodeJS.Timeout[] = []
      const after = (ms: number, f: () => void) => timers.push(setTimeout(f, ms))
      const finish = (f: () => void, error?: string) => {
        if (settled) return
        settled = true
        for (const t of timers) clearTimeout(t)
        signal.removeEventListener('abort', onAbort)
        this.kills.delete(onKill)
        if (error) c.error = error
        plant.end(c)
        f()
      }
      const fail = (code: ConstructorParameters<typeof FenceError>[0], msg: string) =>
        finish(() => reject(new FenceError(code, `${this.device}: ${msg}`)), code)
      const onAbort = () => {
        c.abortedAt ??= now()
        const go = () => finish(() => reject(abortError(signal)), 'aborted')
        if (script.abortLagMs > 0) setTimeout(go, script.abortLagMs)
        else go()
      }
      const onKill = () => fail('CONNECTION_LOST', 'the gateway process is gone')
      this.kills.add(onKill)
      if (signal.aborted) return onAbort()
      signal.addEventListener('abort', onAbort, { once: true })
      const lat = script.latencyMs + (script.fault === 'delay' ? 15 : 0)
      const reach = () => {
        if (settled || signal.aborted) return false
        c.reached = now()
        return true
      }
      switch (script.fault) {
        case 'stall':
          return // only an abort (or a crash) ends it
        case 'drop':
          return after(lat + 8, () => fail('DEVICE_TIMEOUT', 'no answer (request lost)'))
        case 'disconnect':
          return after(Math.min(lat, 1), () => fail('CONNECTION_LOST', 'connection reset'))
        default:
      }
      if (kind === 'status') {
        return after(lat, () => {
          if (!reach()) return
          const m = new Map<string, PowerState>()
          for (const p of plugs) m.set(p, plant.read(this.device, p))
          if (script.fault === 'garble') {
            if (plugs.length && (c.id & 1) === 0) m.set(plugs[c.id % plugs.length]!, 'unknown')
            else return fail('PROTOCOL_ERROR', 'unparseable answer')
          }
          c.result = Object.fromEntries(m)
          finish(() => resolve(m))
        })
      }
      // set / cancel / plugs: the command reaches the device half-way, the ack comes after
      after(Math.floor(lat / 2), () => {
        if (!reach()) return
        if (kind === 'set' && action && script.fault !== 'lie') plant.apply(this.device, plugs[0]!, action)
        after(Math.ceil(lat / 2), () => {
          if (script.fault === 'garble') fail('PROTOCOL_ERROR', 'garbled acknowledgement')
          else finish(() => resolve(undefined))
        })
      })
    })
  }
}
