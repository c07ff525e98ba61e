import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { FenceError } from '../../src/core/errors.js'
import type { PowerState } from '../../src/core/types.js'
import { FENCER } from '../helpers/gateway.js'
import { type PairDevice, startPairDevice, startPairGateway } from '../helpers/pair.js'
import { PAIRS } from '../pairs.js'

/**
 * Conformance of every driver + mock pair to the PowerDriver contract (drivers/driver.ts).
 * A pair joins by adding an entry to test/pairs.ts.
 */

const call = (ms = 5000) => ({ signal: AbortSignal.timeout(ms) })

async function readUntil(dev: PairDevice, plug: string, want: PowerState, ms = 8000): Promise<PowerState> {
  const end = Date.now() + ms
  let s: PowerState = 'unknown'
  while (Date.now() < end) {
    s = (await dev.driver.status([plug], call())).get(plug)!
    if (s === want) return s
    await new Promise((r) => setTimeout(r, 50))
  }
  return s
}

for (const pair of PAIRS) {
  describe(`conformance: ${pair.name}`, () => {
    let dev: PairDevice
    beforeEach(async () => {
      dev = await startPairDevice(pair)
    })
    afterEach(async () => dev?.stop())
    // a single-target device (a BMC) has one plug: p2 is then the same plug
    const p1 = pair.plugs[0]!
    const p2 = pair.plugs[1] ?? p1

    it('discovers plugs, with the ones the tests use', async () => {
      const plugs = await dev.driver.plugs(call())
      const ids = plugs.map((p) => p.id)
      for (const p of pair.plugs) expect(ids).toContain(p)
    })

    it('reads the true state of several plugs in one call', async () => {
      dev.mock.sim.setPhysical(p1, 'off')
      if (p2 !== p1) dev.mock.sim.setPhysical(p2, 'on')
      const m = await dev.driver.status([...new Set([p1, p2])], call())
      expect(m.get(p1)).toBe('off')
      if (p2 !== p1) expect(m.get(p2)).toBe('on')
      dev.mock.sim.setPhysical(p1, 'on')
      expect((await dev.driver.status([p1], call())).get(p1)).toBe('on')
    })

    it('switches off and on; the device and a read-back agree', async () => {
      dev.mock.sim.setPhysical(p1, 'on')
      await dev.driver.set(p1, 'off', call())
      expect(await readUntil(dev, p1, 'off')).toBe('off')
      expect(dev.mock.sim.state(p1)).toBe('off')
      await dev.driver.set(p1, 'on', call())
      expect(await readUntil(dev, p1, 'on')).toBe('on')
      expect(dev.mock.sim.state(p1)).toBe('on')
    })

    it('is idempotent: off of an off plug and on of an on plug succeed and change nothing', async () => {
      dev.mock.sim.setPhysical(p1, 'off')
      await dev.driver.set(p1, 'off', call())
      expect(await readUntil(dev, p1, 'off')).toBe('off')
      dev.mock.sim.setPhysical(p2, 'on')
      await dev.driver.set(p2, 'on', call())
      expect(await readUntil(dev, p2, 'on')).toBe('on')
    })

    it(
      pair.deviceCycle ? "does the device's own cycle" : 'refuses a device cycle it does not have',
      async () => {
        dev.mock.sim.setPhysical(p1, 'on')
        if (pair.deviceCycle) {
          await dev.driver.set(p1, 'cycle', call())
          expect(dev.mock.sim.commands.some((c) => c.plug === p1 && c.action === 'cycle')).toBe(true)
        } else {
          await expect(dev.driver.set(p1, 'cycle', call())).rejects.toMatchObject({
            code: 'UNSUPPORTED_ACTION',
          })
        }
      },
    )

    it('an aborted call rejects with a typed error and sends no command', async () => {
      dev.mock.sim.setPhysical(p1, 'on')
      const ac = new AbortController()
      ac.abort()
      const err = await dev.driver.set(p1, 'off', { signal: ac.signal }).catch((e) => e)
      expect(err).toBeInstanceOf(FenceError)
      expect(['ABORTED', 'DEADLINE_EXCEEDED']).toContain((err as FenceError).code)
      expect(dev.mock.sim.commands.filter((c) => c.plug === p1)).toHaveLength(0)
      expect(dev.mock.sim.state(p1)).toBe('on')
    })

    it('a call cut by its deadline on a stalled device rejects promptly with a typed error', async () => {
      dev.mock.sim.faults.add({ type: 'stall' })
      const started = Date.now()
      const err = await dev.driver.status([p1], { signal: AbortSignal.timeout(300) }).catch((e) => e)
      expect(err).toBeInstanceOf(FenceError)
      expect(['DEADLINE_EXCEEDED', 'ABORTED', 'DEVICE_TIMEOUT', 'DEVICE_UNREACHABLE']).toContain(
        (err as FenceError).code,
      )
      expect(Date.now() - started).toBeLessThan(10_000)
    })

    it('a plug the device does not have is a permanent typed error or unknown, never on/off', async () => {
      const err = await dev.driver.set('999', 'off', call()).catch((e) => e)
      expect(err).toBeInstanceOf(FenceError)
      expect((err as FenceError).transient).toBe(false)
      const st = await dev.driver.status(['999'], call()).then(
        (m) => m.get('999'),
        (e: FenceError) => e.code,
      )
      expect(['unknown', 'NO_SUCH_PLUG']).toContain(st)
    })
  })

  describe(`conformance through the engine: ${pair.name}`, () => {
    it('fences a node off (read back), and a dual-plug node with both plugs off', async () => {
      const gw = await startPairGateway(pair)
      try {
        const sim = gw.lab.device('d')!.sim
        const one = await gw.engine.fence('one', 'off', { initiator: FENCER, timeoutMs: 15_000 })
        expect(one.results[0]).toMatchObject({ outcome: 'success', state: 'off' })
        expect(sim.state(pair.plugs[0]!)).toBe('off')
        if (pair.plugs.length < 2) return // a single-target device
        const two = await gw.engine.fence('two', 'off', { initiator: FENCER, timeoutMs: 15_000 })
        expect(two.results[0]).toMatchObject({ outcome: 'success', state: 'off' })
        for (const p of pair.plugs.slice(1, 3)) expect(sim.state(p)).toBe('off')
      } finally {
        await gw.stop()
      }
    })

    it('after a set cut by the deadline the state is unknown until read back', async () => {
      const gw = await startPairGateway(pair)
      try {
        const sim = gw.lab.device('d')!.sim
        const plug = pair.plugs[0]!
        sim.setPhysical(plug, 'on')
        await gw.engine.status(['one'], { initiator: FENCER })
        expect(gw.engine.cached(['one'])[0]!.state).toBe('on')
        // the device takes the command, then stops answering: the read-backs are cut by the deadline
        const command = sim.command.bind(sim)
        sim.command = (...args) => {
          sim.faults.add({ type: 'stall' })
          return command(...args)
        }
        const op = await gw.engine.power('one', 'off', { initiator: FENCER, timeoutMs: 1000 })
        expect(op.status).toBe('failed')
        expect(op.results[0]!.state).toBe('unknown')
        expect(gw.engine.cached(['one'])[0]!.state).toBe('unknown')
        // read back: the truth again
        sim.command = command
        sim.faults.clear()
        const st = await gw.engine.status(['one'], { initiator: FENCER, timeoutMs: 10_000 })
        expect(st[0]!.state).toBe(sim.state(plug))
        expect(gw.engine.cached(['one'])[0]!.state).toBe(sim.state(plug))
      } finally {
        await gw.stop()
      }
    })
  })
}
