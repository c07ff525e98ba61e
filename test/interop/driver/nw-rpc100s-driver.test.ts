import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { NwRpc100sDriver } from '../../../drivers/nw-rpc100s/driver.js'
import { nwRpc100sDriver } from '../../../drivers/nw-rpc100s/index.js'
import { readLab } from '../../../firmware-mocks/lab-file.js'
import { Lab } from '../../../firmware-mocks/lab.js'
import type { NwRpc100sMock } from '../../../firmware-mocks/nw-rpc100s/mock.js'
import type { NwRpc100sSession } from '../../../firmware-mocks/nw-rpc100s/session.js'
import { parseCommand } from '../../../protocols/nw-rpc100s.js'
import { FenceError } from '../../../core/errors.js'

/**
 * The nw-rpc100s driver and mock beyond the shared suites: the grammar both sides share, the bytes
 * the driver sends, the unit's refusals, the DIP switch, option checking.
 */

interface Rig {
  mock: NwRpc100sMock
  driver: NwRpc100sDriver
  stop(): Promise<void>
}

const call = (ms = 5000) => ({ signal: AbortSignal.timeout(ms) })

async function startRig(lab: Record<string, unknown>, overrides: Record<string, unknown> = {}): Promise<Rig> {
  const dir = mkdtempSync(path.join(tmpdir(), 'fg-nwd-'))
  const { lab: spec, problems } = readLab({ devices: { nw: { kind: 'nw-rpc100s', ...lab } } })
  if (problems.length) throw new Error(`lab: ${JSON.stringify(problems)}`)
  for (const d of spec.devices) if (d.common.pty) d.common.pty = d.common.pty.replace('{tmp}', dir)
  const started = await Lab.start(spec)
  const { driver: _kind, deviceCycle: _cycle, ...section } = { ...started.driverSections().nw!, ...overrides }
  const { config, problems: dp } = nwRpc100sDriver.validate(section)
  if (dp.length) throw new Error(`driver: ${JSON.stringify(dp)}`)
  const driver = nwRpc100sDriver.create(config, {
    deviceId: 'nw',
    readSecret: () => '',
    log: () => {},
  }) as NwRpc100sDriver
  return {
    mock: started.device('nw') as NwRpc100sMock,
    driver,
    async stop() {
      await driver.close()
      await started.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

let rig: Rig | undefined
afterEach(async () => {
  await rig?.stop()
  rig = undefined
})

describe('the command grammar (protocols/nw-rpc100s.ts)', () => {
  it('reads wait, time or *, and the /m or /h unit; the ; is optional', () => {
    expect(parseCommand('//0,0,*;')).toEqual({ wait: 0, time: 'forever', unit: 's' })
    expect(parseCommand('//0,0,0;')).toEqual({ wait: 0, time: 0, unit: 's' })
    expect(parseCommand('//0,5,10/m')).toEqual({ wait: 5, time: 10, unit: 'm' })
    expect(parseCommand('//0,1,2/h;')).toEqual({ wait: 1, time: 2, unit: 'h' })
  })

  it('anything else is an Invalid Entry', () => {
    for (const bad of [
      '//0,0,BOGUS;',
      '//1,0,0;',
      '//0,0;',
      '0,0,0',
      '//0,0,0;;',
      '//0,1000,0',
      '//0,0,0/s',
      '',
    ])
      expect(parseCommand(bad), bad).toBeUndefined()
  })
})

describe('the driver against the mock on a pty', () => {
  it('sends the probe after the open, then exactly one command, ended by one CR', async () => {
    rig = await startRig({ pty: '{tmp}/ttyNW1', initial: 'on' })
    await rig.driver.set('outlet', 'off', call())
    expect(rig.mock.trace).toEqual([
      'request //0,0,BOGUS;',
      'reply Invalid Entry',
      'request //0,0,*;',
      'reply OK',
    ])
    expect(rig.mock.sim.state('outlet')).toBe('off')
    await rig.driver.set('outlet', 'on', call())
    expect(rig.mock.trace.slice(4)).toEqual(['request //0,0,0;', 'reply OK'])
    expect(rig.mock.sim.state('outlet')).toBe('on')
  })

  it("the unit's own cycle: off for cycleOff seconds, then on by itself", async () => {
    rig = await startRig({ pty: '{tmp}/ttyNW2', initial: 'on' }, { deviceCycle: true, cycleOff: '1s' })
    const changes: string[] = []
    rig.mock.sim.on('change', (_p, s) => changes.push(s))
    await rig.driver.set('outlet', 'cycle', call())
    expect(rig.mock.trace.at(-2)).toBe('request //0,0,1;')
    const end = Date.now() + 5000
    while (Date.now() < end && changes.length < 2) await new Promise((r) => setTimeout(r, 50))
    expect(changes).toEqual(['off', 'on'])
  })

  it('a command the unit answers Invalid Entry is a transient protocol error', async () => {
    rig = await startRig({ pty: '{tmp}/ttyNW3' })
    await rig.driver.status(['outlet'], call())
    // the next command reaches the unit garbled: the unit refuses it
    const session = [...rig.mock.line.sessions][0] as NwRpc100sSession
    const receive = session.receive.bind(session)
    session.receive = (b) => receive(Buffer.from(b.toString('latin1').replace('*', '#'), 'latin1'))
    const err = await rig.driver.set('outlet', 'off', call()).catch((e) => e)
    expect(err).toBeInstanceOf(FenceError)
    expect(err).toMatchObject({ code: 'PROTOCOL_ERROR' })
    expect((err as FenceError).message).toContain("answered 'Invalid Entry' to //0,0,*;")
    expect(rig.mock.sim.commands).toEqual([])
  })

  it('a garbled OK is a protocol error, never taken for an OK', async () => {
    rig = await startRig({ pty: '{tmp}/ttyNW4' })
    await rig.driver.status(['outlet'], call())
    rig.mock.sim.faults.add({ type: 'garble', count: 1 })
    const err = await rig.driver.set('outlet', 'off', call()).catch((e) => e)
    expect(err).toMatchObject({ code: 'PROTOCOL_ERROR' })
  })

  it('status reads unknown after the probe; a dead unit fails it with a timeout', async () => {
    rig = await startRig({ pty: '{tmp}/ttyNW5' }, { probeTimeout: '300ms' })
    expect(await rig.driver.status(['outlet'], call())).toEqual(new Map([['outlet', 'unknown']]))
    rig.mock.sim.faults.add({ type: 'drop' })
    const err = await rig.driver.status(['outlet'], call()).catch((e) => e)
    expect(err).toMatchObject({ code: 'DEVICE_TIMEOUT' })
    expect((err as FenceError).message).toContain('probe: no complete answer within 300ms')
  })

  it("with the DIP switch set to default OFF the unit inverts: the driver's off turns the outlet on", async () => {
    // the hazard docs/drivers/nw-rpc100s.md warns about: nothing on the wire tells the two apart
    rig = await startRig({ pty: '{tmp}/ttyNW6', initial: 'off', defaultOff: true })
    await rig.driver.set('outlet', 'off', call())
    expect(rig.mock.sim.state('outlet')).toBe('on')
    expect(await rig.driver.status(['outlet'], call())).toEqual(new Map([['outlet', 'unknown']]))
  })

  it('one plug, outlet; another is refused without asking the unit', async () => {
    rig = await startRig({ pty: '{tmp}/ttyNW7' })
    expect(await rig.driver.plugs(call())).toEqual([{ id: 'outlet', name: 'RPC-100S outlet' }])
    await expect(rig.driver.set('1', 'off', call())).rejects.toMatchObject({ code: 'NO_SUCH_PLUG' })
    expect(rig.mock.trace).toEqual([])
  })
})

describe('options', () => {
  const problems = (section: Record<string, unknown>) =>
    nwRpc100sDriver.validate(section).problems.map((p) => `${p.path.join('.')}: ${p.message}`)

  it('the factory says the device cannot read back', () => {
    expect(nwRpc100sDriver.verifies).toBe(false)
    expect(nwRpc100sDriver.singlePlug).toBe('outlet')
  })

  it('defaults as cluster-glue; bad values said', () => {
    const { config } = nwRpc100sDriver.validate({ port: '/dev/ttyS2' })
    expect(config).toMatchObject({
      baud: 9600,
      replyTimeoutMs: 5000,
      probeTimeoutMs: 12_000,
      cycleOffMs: 10_000,
    })
    expect(problems({ port: '/dev/ttyS2', baud: 2400 })).toEqual([
      'baud: an RPC-100S runs at 9600 baud (8N1), got 2400',
    ])
    expect(problems({ port: '/dev/ttyS2', cycleOff: '1500ms' })).toEqual([
      'cycleOff: the unit counts whole seconds: 1s to 999s',
    ])
    expect(problems({})[0]).toMatch(/^port: required/)
    expect(problems({ port: '/dev/ttyS2', password: 'x' })).toEqual(['password: unknown field'])
  })
})
