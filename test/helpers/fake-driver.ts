import type { Call, PowerDriver } from '../../drivers/driver.js'
import { sleep } from '../../core/deadline.js'
import { FenceError } from '../../core/errors.js'
import type { DeviceAction, PowerState } from '../../core/types.js'
import { type TestGateway, startTestGateway } from './gateway.js'
import type { Coordinator } from '../../src/coordination/coordinator.js'

export interface FakeCall {
  kind: 'status' | 'set'
  plugs: string[]
  action?: DeviceAction
  /** ms since the driver was made, when the call reached the driver and when it settled. */
  at: number
  end?: number
}

/**
 * A driver with no protocol under it, for the engine's regression tests: plug states in memory,
 * a delay per call, calls that may ignore their abort signal (a driver stuck in a syscall),
 * faults by code, and an overlap counter (two calls in flight on one device at once).
 */
export class FakeDriver implements PowerDriver {
  readonly kind = 'fake'
  readonly states = new Map<string, PowerState>()
  readonly calls: FakeCall[] = []
  /** Delay of every call, ms. */
  delay = 0
  /** A call keeps running after its signal aborted (until its delay is over). */
  ignoreAbort = false
  /** Every call fails with this code (after the delay). */
  fail: FenceError['code'] | undefined
  /** `set` (or only this action) is acknowledged and nothing changes (a stuck relay). */
  lie: boolean | DeviceAction = false
  /** The device cannot read its outlets back (an unverified device): status says unknown. */
  blind = false
  inFlight = 0
  maxInFlight = 0
  private readonly t0 = performance.now()

  constructor(plugs: Record<string, PowerState>) {
    for (const [p, s] of Object.entries(plugs)) this.states.set(p, s)
  }

  private async enter<T>(call: FakeCall, signal: AbortSignal, body: () => T): Promise<T> {
    this.calls.push(call)
    this.inFlight++
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight)
    try {
      if (this.delay > 0) await sleep(this.delay, this.ignoreAbort ? undefined : signal)
      if (!this.ignoreAbort && signal.aborted) throw new FenceError('ABORTED')
      if (this.fail) throw new FenceError(this.fail, `fake ${this.fail}`)
      return body()
    } finally {
      this.inFlight--
      call.end = performance.now() - this.t0
    }
  }

  plugs(): Promise<{ id: string }[]> {
    return Promise.resolve([...this.states.keys()].map((id) => ({ id })))
  }

  status(plugs: readonly string[], c: Call): Promise<Map<string, PowerState>> {
    const call: FakeCall = { kind: 'status', plugs: [...plugs], at: performance.now() - this.t0 }
    return this.enter(
      call,
      c.signal,
      () => new Map(plugs.map((p) => [p, this.blind ? 'unknown' : (this.states.get(p) ?? 'unknown')])),
    )
  }

  set(plug: string, action: DeviceAction, c: Call): Promise<void> {
    const call: FakeCall = { kind: 'set', plugs: [plug], action, at: performance.now() - this.t0 }
    return this.enter(call, c.signal, () => {
      if (this.lie === true || this.lie === action) return
      this.states.set(plug, action === 'cycle' ? 'on' : action)
    })
  }

  close(): Promise<void> {
    return Promise.resolve()
  }

  /** Resolves once `test` holds (polled; for tests that must act at a known point of a call). */
  async until(test: (d: FakeDriver) => boolean, timeoutMs = 5000): Promise<void> {
    const end = performance.now() + timeoutMs
    while (!test(this)) {
      if (performance.now() > end) throw new Error('FakeDriver.until: condition not reached')
      await sleep(2)
    }
  }

  sets(action?: DeviceAction): FakeCall[] {
    return this.calls.filter((c) => c.kind === 'set' && (!action || c.action === action))
  }
}

/**
 * A test gateway whose devices are FakeDrivers (the lab's dummy devices only give the config its
 * shape). Devices named in `blind` cannot read back (an unverified device, verifies: false).
 */
export async function startFakeGateway(
  devices: Record<string, Record<string, PowerState>>,
  nodes: Record<string, unknown>,
  opts: { engine?: Record<string, unknown>; blind?: string[]; coordinator?: Coordinator } = {},
): Promise<{ gw: TestGateway; fakes: Map<string, FakeDriver> }> {
  const blind = opts.blind ?? []
  const fakes = new Map<string, FakeDriver>()
  const gw = await startTestGateway({
    devices: Object.fromEntries(
      Object.entries(devices).map(([id, plugs]) => [
        id,
        { kind: 'dummy', listen: '127.0.0.1:0', plugs: Object.keys(plugs).length },
      ]),
    ),
    nodes,
    engine: opts.engine ?? {},
    engineOptions: {
      ...(opts.coordinator ? { coordinator: opts.coordinator } : {}),
      createDriver: (dev) => {
        const f = new FakeDriver(devices[dev.id]!)
        f.blind = blind.includes(dev.id)
        fakes.set(dev.id, f)
        return f
      },
    },
  })
  const runners = (gw.engine as unknown as { runners: Map<string, { health: { verifies: boolean } }> })
    .runners
  for (const id of blind) runners.get(id)!.health.verifies = false
  return { gw, fakes }
}
