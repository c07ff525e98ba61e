import { afterEach, describe, expect, it } from 'vitest'
import { FenceError } from '../../../core/errors.js'
import { type Rps10Rig, call, startRps10 } from '../rps10-lab.js'

let rig: Rps10Rig | undefined
afterEach(async () => {
  await rig?.stop()
  rig = undefined
})

for (const transport of ['pty', 'tcp'] as const) {
  const where = transport === 'pty' ? { pty: '{tmp}/rps0' } : { listen: '127.0.0.1:0' }
  describe(`rps10 driver over ${transport}`, () => {
    it('discovers the chain, reads and switches units, confirmed by the sim', async () => {
      rig = await startRps10({ ...where, plugs: 3, initial: 'on' })
      const { driver, mock } = rig
      expect(await driver.plugs(call())).toEqual([
        { id: '0', name: 'unit 0' },
        { id: '1', name: 'unit 1' },
        { id: '2', name: 'unit 2' },
      ])
      await driver.set('1', 'off', call())
      expect(mock.sim.state('1')).toBe('off')
      expect(Object.fromEntries(await driver.status(['0', '1', '2'], call()))).toEqual({
        0: 'on',
        1: 'off',
        2: 'on',
      })
      expect((await driver.status(['1'], call())).get('1')).toBe('off')
      await driver.set('1', 'on', call())
      expect(mock.sim.state('1')).toBe('on')
    })
  })
}

describe('rps10 driver: the rules of the unit', () => {
  it('refuses on/off of every unit at once and unknown plugs', async () => {
    rig = await startRps10({ listen: '127.0.0.1:0', plugs: 2 }, { units: ['0', '1'] })
    const { driver, mock } = rig
    for (const p of ['*', 'A'])
      await expect(driver.set(p, 'off', call())).rejects.toMatchObject({ code: 'UNSUPPORTED_ACTION' })
    await expect(driver.set('x', 'off', call())).rejects.toMatchObject({ code: 'NO_SUCH_PLUG' })
    await expect(driver.set('5', 'off', call())).rejects.toMatchObject({ code: 'NO_SUCH_PLUG' })
    await expect(driver.status(['12'], call())).rejects.toMatchObject({ code: 'NO_SUCH_PLUG' })
    expect(mock.sim.commands).toEqual([])
  })

  it("uses the unit's toggle for an operator's cycle when allowed: off, the DIP delay, on", async () => {
    rig = await startRps10(
      { listen: '127.0.0.1:0', plugs: 2, initial: 'on', toggleDelay: '400ms' },
      { deviceCycle: true },
    )
    const changes: string[] = []
    rig.mock.sim.on('change', (p, s) => changes.push(`${p}:${s}`))
    await rig.driver.set('1', 'cycle', call())
    expect(changes).toEqual(['1:off', '1:on'])
    expect(rig.mock.sim.commands.map((c) => c.action)).toEqual(['cycle'])
  })

  it('DTR handshake on the pty: the unit is reset and says Ready before the first command', async () => {
    rig = await startRps10({ pty: '{tmp}/rps0', plugs: 1, initial: 'off' }, { dtrLow: '500ms' })
    expect((await rig.driver.status(['0'], call())).get('0')).toBe('off')
    // the pty helper saw the client's DTR (open raises it, B0 drops it, restoring raises it);
    // the command came after the banner that followed the last rise
    const t = rig.mock.trace
    expect(t.at(-1)).toBe('request 0?')
    expect(t.at(-2)).toBe('ready')
    expect(t.at(-3)).toBe('dtr up')
    expect(t.filter((e) => e.startsWith('request'))).toEqual(['request 0?'])
  })

  it('a unit that never says Ready: handshake error that names the phase; nothing is sent', async () => {
    rig = await startRps10(
      { pty: '{tmp}/rps0', plugs: 1, readyDelay: '30s' },
      { dtrLow: '100ms', readyTimeout: '400ms' },
    )
    const e = await rig.driver.set('0', 'off', call()).catch((x: FenceError) => x)
    expect(e).toBeInstanceOf(FenceError)
    expect(e).toMatchObject({ code: 'DEVICE_TIMEOUT' })
    expect((e as FenceError).message).toMatch(
      /handshake: DTR reset: expected 'RPS-10 Ready' within \d+ms; received nothing/,
    )
    expect(rig.mock.sim.commands).toEqual([])
    // the next call within the backoff is refused at once, naming the connect phase
    const again = await rig.driver.set('0', 'off', call()).catch((x: FenceError) => x)
    expect((again as FenceError).message).toMatch(/connect: not retrying/)
  })

  it('keeps the pause the unit needs between commands', async () => {
    // the unit ignores a command sooner than 300 ms after its last Complete
    rig = await startRps10(
      { listen: '127.0.0.1:0', plugs: 2, commandGap: '300ms' },
      { commandGap: '0ms', replyTimeout: '500ms' },
    )
    await rig.driver.status(['0'], call())
    await expect(rig.driver.status(['1'], call())).rejects.toMatchObject({ code: 'DEVICE_TIMEOUT' })
    await rig.stop()
    rig = await startRps10(
      { listen: '127.0.0.1:0', plugs: 2, commandGap: '300ms' },
      { commandGap: '350ms', replyTimeout: '500ms' },
    )
    await rig.driver.status(['0'], call())
    await rig.driver.set('1', 'off', call())
    expect(rig.mock.sim.state('1')).toBe('off')
  })

  it('a client at the wrong speed gets noise, not a state', async () => {
    rig = await startRps10(
      { pty: '{tmp}/rps0', plugs: 1, baud: 2400 },
      { baud: 9600, handshake: 'none', settle: '50ms', replyTimeout: '500ms' },
    )
    const e = await rig.driver.status(['0'], call()).catch((x: FenceError) => x)
    expect(e).toBeInstanceOf(FenceError)
    expect(['DEVICE_TIMEOUT', 'PROTOCOL_ERROR']).toContain((e as FenceError).code)
  })

  it('honours the deadline: an aborted call rejects at once and leaves the line usable', async () => {
    rig = await startRps10({ listen: '127.0.0.1:0', plugs: 1, transitionDelay: '2s' })
    // the unit takes 2 s to answer; the caller's deadline is 200 ms
    await expect(rig.driver.set('0', 'off', call(200))).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' })
    rig.mock.sim.transitionDelayMs = 0
    await rig.driver.set('0', 'on', call())
    expect(rig.mock.sim.state('0')).toBe('on')
  })

  it('DIP switch 3: after a power failure the outlets come back as the switch says', async () => {
    rig = await startRps10({ listen: '127.0.0.1:0', plugs: 2, initial: 'on', powerUpState: 'on' })
    await rig.driver.set('0', 'off', call()) // the node is fenced
    rig.mock.powerFail(100)
    expect(rig.mock.sim.state('0')).toBe('off')
    await new Promise((r) => setTimeout(r, 200))
    // power is back: with DIP 3 up the fenced node is powered on again, by the unit itself
    expect(rig.mock.sim.state('0')).toBe('on')
    expect((await rig.driver.status(['0'], call())).get('0')).toBe('on')
  })

  it('as shipped (DIP 3 down) a chain starts with every outlet off', async () => {
    rig = await startRps10({ listen: '127.0.0.1:0', plugs: 3 })
    expect(Object.fromEntries(await rig.driver.status(['0', '1', '2'], call()))).toEqual({
      0: 'off',
      1: 'off',
      2: 'off',
    })
  })
})
