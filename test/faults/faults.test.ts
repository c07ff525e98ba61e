import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FAULT_TYPES, type FaultSpec } from '../../firmware-mocks/simulator.js'
import { ERRORS } from '../../src/core/errors.js'
import type { NodeAction } from '../../src/core/types.js'
import { FENCER, type TestGateway } from '../helpers/gateway.js'
import { startPairGateway } from '../helpers/pair.js'
import { PAIRS } from '../pairs.js'

/**
 * Every fault × every action, for every driver + mock pair: never a false success, always an
 * answer before the deadline, and an error that says what happened.
 */

type Action = 'fence-off' | 'fence-reboot' | 'on' | 'off' | 'status'
const ACTIONS: Action[] = ['fence-off', 'fence-reboot', 'on', 'off', 'status']

/** How long past its deadline an answer may come: scheduling, connection teardown. */
const SLACK_MS = 3000

function spec(type: FaultSpec['type']): FaultSpec {
  return type === 'delay' ? { type, ms: 150 } : { type }
}

for (const pair of PAIRS) {
  const faults = pair.faults ?? FAULT_TYPES
  const deadline = pair.deadlineMs ?? 3000
  // the tests of one fault run one after another on one device: a test may wait for all the others
  const QUEUE_TIMEOUT = (deadline + SLACK_MS) * 2 * ACTIONS.length + 10_000
  describe.concurrent(`faults: ${pair.name}`, () => {
    // one gateway per fault: tests of one fault share it, run one after another (same device)
    const gateways = new Map<string, Promise<TestGateway>>()
    const locks = new Map<string, Promise<unknown>>()
    beforeAll(() => {
      for (const f of faults) gateways.set(f, startPairGateway(pair, { retries: 1 }))
    })
    afterAll(async () => {
      await Promise.allSettled([...gateways.values()].map(async (g) => (await g).stop()))
    })

    for (const fault of faults)
      for (const action of ACTIONS) {
        it(
          `${fault} × ${action}: no false success, an answer in time, a clear error`,
          async () => {
            const prev = locks.get(fault) ?? Promise.resolve()
            let release!: () => void
            locks.set(fault, new Promise<void>((r) => (release = r)))
            await prev
            const gw = await gateways.get(fault)!
            const sim = gw.lab.device('d')!.sim
            const plug = pair.plugs[0]!
            try {
              sim.faults.clear()
              sim.setPhysical(plug, action === 'on' ? 'off' : 'on')
              sim.faults.add(spec(fault))
              const started = Date.now()
              // fencer: the suite is about faults, not about the fence hold of the test before
              const req = { initiator: FENCER, timeoutMs: deadline }
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
                else
                  expect(sim.commands.some((c) => c.plug === plug && c.action === 'off' && !c.ignored)).toBe(
                    true,
                  )
                expect(sim.commands.every((c) => c.action !== 'cycle')).toBe(true)
              } else {
                expect(Object.keys(ERRORS)).toContain(r.error!.code)
                expect(r.error!.message.length).toBeGreaterThan(5)
                if (action !== 'on') expect(r.state).not.toBe('off')
              }
              if (fault === 'lie' && action !== 'on') expect(r.outcome).toBe('failed')
              if (
                (fault === 'drop' || fault === 'stall' || fault === 'disconnect') &&
                pair.faultsAlwaysFail !== false
              )
                expect(r.outcome).toBe('failed')
            } finally {
              sim.faults.clear()
              release()
            }
          },
          QUEUE_TIMEOUT,
        )
      }
  })
}
