import { describe, expect, it } from 'vitest'
import { FAULT_TYPES, type FaultSpec } from '../../firmware-mocks/simulator.js'
import { ERRORS } from '../../core/errors.js'
import type { NodeAction } from '../../core/types.js'
import { FENCER, type TestGateway } from '../helpers/gateway.js'
import { pairVerifies, startPairGateway } from '../helpers/pair.js'
import { type DriverMockPair, PAIRS } from '../pairs.js'

/**
 * Every fault × every action, for every driver + mock pair: never a false success, always an
 * answer before the deadline, and an error that says what happened.
 *
 * A device that cannot read back (`verifies: false`) powers `fence: false` nodes: a fence is
 * refused before anything is sent, status reads unknown, and on/off end `unverified` (the device
 * said it did it) or `failed` — never `success`, never a state.
 */

type Action = 'fence-off' | 'fence-reboot' | 'on' | 'off' | 'status'
const ACTIONS: Action[] = ['fence-off', 'fence-reboot', 'on', 'off', 'status']

/** How long past its deadline an answer may come: scheduling, connection teardown. */
const SLACK_MS = 3000

function spec(type: FaultSpec['type']): FaultSpec {
  return type === 'delay' ? { type, ms: 150 } : { type }
}

/** The unverified contract under a fault (see above). */
async function unverifiedContract(
  gw: TestGateway,
  plug: string,
  fault: FaultSpec['type'],
  action: Action,
  req: { initiator: typeof FENCER; timeoutMs: number },
  started: number,
): Promise<void> {
  const sim = gw.lab.device('d')!.sim
  const deadline = req.timeoutMs
  if (action === 'status') {
    const [st] = await gw.engine.status(['one'], req)
    expect(Date.now() - started).toBeLessThan(deadline + SLACK_MS)
    expect(st!.state).toBe('unknown')
    const p = st!.plugs[0]!
    expect(p.state).toBe('unknown')
    if (p.error) expect(Object.keys(ERRORS)).toContain(p.error.code)
    return
  }
  if (action === 'fence-off' || action === 'fence-reboot') {
    const sent = sim.commands.length
    await expect(
      gw.engine.fence('one', action === 'fence-off' ? 'off' : 'reboot', req),
    ).rejects.toMatchObject({
      code: 'UNSUPPORTED_ACTION',
    })
    expect(Date.now() - started).toBeLessThan(deadline + SLACK_MS)
    expect(sim.commands.length).toBe(sent)
    return
  }
  const before = sim.state(plug)
  const op = await gw.engine.power('one', action as NodeAction, req)
  expect(Date.now() - started).toBeLessThan(deadline + SLACK_MS)
  const r = op.results[0]!
  sim.faults.clear()
  expect(['unverified', 'failed']).toContain(r.outcome)
  expect(r.state).toBe('unknown')
  if (r.outcome === 'unverified') {
    // the device acknowledged the command: it was sent (a lying relay is acknowledged and ignored)
    expect(sim.commands.some((c) => c.plug === plug && c.action === action)).toBe(true)
    if (fault === 'lie') expect(sim.state(plug)).toBe(before)
  } else {
    expect(Object.keys(ERRORS)).toContain(r.error!.code)
    expect(r.error!.message.length).toBeGreaterThan(5)
  }
  if (fault === 'drop' || fault === 'stall' || fault === 'disconnect' || fault === 'garble')
    expect(r.outcome).toBe('failed')
}

/**
 * One test per pair × fault: its own gateway and mock, the five actions in order on it (so no
 * test waits for another, and no lock is needed). The tests run concurrently, up to
 * vitest.config.ts maxConcurrency: most of a test is waiting out deadlines, so a new pair
 * adds seconds, not tens of seconds.
 */
for (const pair of PAIRS) {
  const faults = pair.faults ?? FAULT_TYPES
  const deadline = pair.deadlineMs ?? 3000
  const TIMEOUT = (deadline + SLACK_MS) * ACTIONS.length + 20_000
  describe.concurrent(`faults: ${pair.name}`, () => {
    for (const fault of faults)
      it(
        `${fault} × ${ACTIONS.join(', ')}: no false success, an answer in time, a clear error`,
        async () => {
          const gw = await startPairGateway(pair, { retries: 1 })
          try {
            for (const action of ACTIONS)
              await check(gw, pair, fault, action, deadline).catch((e: Error) => {
                e.message = `${fault} × ${action}: ${e.message}`
                throw e
              })
          } finally {
            await gw.stop()
          }
        },
        TIMEOUT,
      )
  })
}

/** One action under one fault: never a false success, an answer in time, a clear error. */
async function check(
  gw: TestGateway,
  pair: DriverMockPair,
  fault: FaultSpec['type'],
  action: Action,
  deadline: number,
): Promise<void> {
  const sim = gw.lab.device('d')!.sim
  const plug = pair.plugs[0]!
  try {
    sim.faults.clear()
    sim.setPhysical(plug, action === 'on' ? 'off' : 'on')
    sim.faults.add(spec(fault))
    const started = Date.now()
    // fencer: the suite is about faults, not about the fence hold of the action before
    const req = { initiator: FENCER, timeoutMs: deadline }
    if (!pairVerifies(pair)) {
      await unverifiedContract(gw, plug, fault, action, req, started)
      return
    }
    if (action === 'status') {
      const [st] = await gw.engine.status(['one'], req)
      expect(Date.now() - started).toBeLessThan(deadline + SLACK_MS)
      // a reported state is the truth; otherwise unknown with the reason
      if (st!.state !== 'unknown') expect(st!.state).toBe(sim.state(plug))
      else {
        const p = st!.plugs[0]!
        if (p.state === 'unknown' && p.error) {
          expect(Object.keys(ERRORS)).toContain(p.error.code)
          expect(p.error.message.length).toBeGreaterThan(5)
        }
      }
      return
    }
    const op =
      action === 'fence-off'
        ? await gw.engine.fence('one', 'off', req)
        : action === 'fence-reboot'
          ? await gw.engine.fence('one', 'reboot', req)
          : await gw.engine.power('one', action as NodeAction, req)
    expect(Date.now() - started).toBeLessThan(deadline + SLACK_MS)
    const r = op.results[0]!
    sim.faults.clear()
    if (r.outcome === 'success') {
      // never a false success: the off (every fence's success) really happened
      if (action === 'on') expect(sim.state(plug)).toBe('on')
      else if (action !== 'fence-reboot') expect(sim.state(plug)).toBe('off')
      else expect(sim.commands.some((c) => c.plug === plug && c.action === 'off' && !c.ignored)).toBe(true)
      expect(sim.commands.every((c) => c.action !== 'cycle')).toBe(true)
    } else {
      expect(Object.keys(ERRORS)).toContain(r.error!.code)
      expect(r.error!.message.length).toBeGreaterThan(5)
      if (action !== 'on') expect(r.state).not.toBe('off')
    }
    if (fault === 'lie' && action !== 'on') expect(r.outcome).toBe('failed')
    if ((fault === 'drop' || fault === 'stall' || fault === 'disconnect') && pair.faultsAlwaysFail !== false)
      expect(r.outcome).toBe('failed')
  } finally {
    sim.faults.clear()
  }
}
