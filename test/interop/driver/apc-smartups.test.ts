import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createDriver, readDeviceSection } from '../../../drivers/registry.js'
import type { PowerDriver } from '../../../drivers/driver.js'
import type { SmartUpsMock } from '../../../firmware-mocks/apc-smartups/mock.js'
import { readLab } from '../../../firmware-mocks/lab-file.js'
import { Lab } from '../../../firmware-mocks/lab.js'
import { FenceError } from '../../../core/errors.js'
import { FENCER, type TestGateway, startTestGateway } from '../../helpers/gateway.js'

/**
 * The APC Smart-UPS, second device on the serial expect engine: cluster-glue's
 * `stonith -t apcsmart` drives the mock's pty (its delay stepping, twice-sent Z and ^N, register
 * reads, the @000 reset); the fencegate driver does the same over a pty and over TCP.
 */
interface Rig {
  mock: SmartUpsMock
  driver: PowerDriver
  stop(): Promise<void>
}

const call = (ms = 10_000) => ({ signal: AbortSignal.timeout(ms) })

async function start(lab: Record<string, unknown>, overrides: Record<string, unknown> = {}): Promise<Rig> {
  const dir = mkdtempSync(path.join(tmpdir(), 'fg-ups-'))
  const section: Record<string, unknown> = { kind: 'apc-smartups', initial: 'on', ...lab }
  if (typeof section.pty === 'string') section.pty = section.pty.replace('{tmp}', dir)
  const { lab: spec, problems } = readLab({ devices: { ups: section } })
  if (problems.length) throw new Error(JSON.stringify(problems))
  const started = await Lab.start(spec)
  const device = readDeviceSection({ repeatGap: '1700ms', ...started.driverSections().ups!, ...overrides })
  if (device.problems.length) throw new Error(JSON.stringify(device.problems))
  const driver = createDriver(
    { ...device, kind: 'apc-smartups' },
    { deviceId: 'ups', readSecret: () => '', log: () => {} },
  )
  return {
    mock: started.device('ups') as SmartUpsMock,
    driver,
    async stop() {
      await driver.close()
      await started.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

function stonith(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) =>
    execFile('stonith', args, { timeout: 18_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, out: `${stdout}${stderr}` }),
    ),
  )
}

let rig: Rig | undefined
let gw: TestGateway | undefined
afterEach(async () => {
  await rig?.stop()
  await gw?.stop()
  rig = gw = undefined
})

describe('cluster-glue stonith -t apcsmart against the Smart-UPS mock', () => {
  it('off: load off, read back by the plugin; its delay changes are put back', async () => {
    rig = await start({
      pty: '{tmp}/ttyUPSa',
      shutdownDelays: ['180', '020', '300'],
      wakeupDelays: ['060', '000'],
    })
    const r = await stonith(['-t', 'apcsmart', '-p', `${rig.mock.ptyPath} node1`, '-T', 'off', 'node1'])
    expect(r.code, r.out).toBe(0)
    expect(rig.mock.sim.state('load')).toBe('off')
    expect(rig.mock.delays).toEqual({ shutdown: '180', wakeup: '060' })
  }, 20_000)

  it('on: load back on', async () => {
    rig = await start({ pty: '{tmp}/ttyUPSb', initial: 'off' })
    const r = await stonith(['-t', 'apcsmart', '-p', `${rig.mock.ptyPath} node1`, '-T', 'on', 'node1'])
    expect(r.code, r.out).toBe(0)
    expect(rig.mock.sim.state('load')).toBe('on')
  }, 20_000)

  it('reset: @000 accepted, the load goes off after the grace delay and comes back', async () => {
    rig = await start({ pty: '{tmp}/ttyUPSc', shutdownDelays: ['001', '020'], wakeupDelays: ['000'] })
    const changes: string[] = []
    rig.mock.sim.on('change', (_p, s) => changes.push(s))
    const r = await stonith(['-t', 'apcsmart', '-p', `${rig.mock.ptyPath} node1`, '-T', 'reset', 'node1'])
    expect(r.code, r.out).toBe(0)
    for (let i = 0; i < 60 && changes.length < 2; i++) await new Promise((res) => setTimeout(res, 100))
    expect(changes).toEqual(['off', 'on'])
  }, 20_000)
})

for (const [name, where] of [
  ['pty', { pty: '{tmp}/ups' }],
  ['tcp', { listen: '127.0.0.1:0' }],
] as const) {
  describe(`apc-smartups driver over ${name}`, () => {
    it('reads the load from register 1 and switches it with twice-sent Z and ^N', async () => {
      rig = await start(where)
      expect(await rig.driver.plugs(call())).toEqual([{ id: 'load', name: 'UPS load' }])
      expect((await rig.driver.status(['load'], call())).get('load')).toBe('on')
      await rig.driver.set('load', 'off', call())
      expect(rig.mock.sim.state('load')).toBe('off')
      expect((await rig.driver.status(['load'], call())).get('load')).toBe('off')
      await rig.driver.set('load', 'on', call())
      // ^N has no answer: the read-back (sent after it, on the same line) is what shows it acted
      expect((await rig.driver.status(['load'], call())).get('load')).toBe('on')
      expect(rig.mock.sim.state('load')).toBe('on')
      expect(rig.mock.sim.commands.map((c) => c.action)).toEqual(['off', 'on'])
    })

    it('refuses other plugs; a lying UPS is caught by the read-back', async () => {
      rig = await start(where)
      await expect(rig.driver.set('1', 'off', call())).rejects.toMatchObject({ code: 'NO_SUCH_PLUG' })
      rig.mock.sim.faults.add({ type: 'lie', count: 1 })
      await rig.driver.set('load', 'off', call())
      expect((await rig.driver.status(['load'], call())).get('load')).toBe('on')
    })
  })
}

describe('apc-smartups driver: faults and the device cycle', () => {
  it('garbage for register 1 is an error, never a state; a silent UPS is a timeout naming the step', async () => {
    rig = await start({ listen: '127.0.0.1:0' }, { replyTimeout: '300ms' })
    await rig.driver.status(['load'], call())
    rig.mock.sim.faults.add({ type: 'garble', count: 2 })
    const e = await rig.driver.status(['load'], call()).catch((x: FenceError) => x)
    expect(e).toBeInstanceOf(FenceError)
    expect((e as FenceError).code).toBe('PROTOCOL_ERROR')
    rig.mock.sim.faults.clear()
    rig.mock.sim.faults.add({ type: 'drop' })
    const t = await rig.driver.status(['load'], call()).catch((x: FenceError) => x)
    expect((t as FenceError).code).toBe('DEVICE_TIMEOUT')
    expect((t as FenceError).message).toMatch(/(handshake|expect): (smart mode|status): expected SM within/)
  })

  it("the UPS's own reset for an operator's cycle (deviceCycle): off after the grace, back on", async () => {
    rig = await start(
      { listen: '127.0.0.1:0', shutdownDelays: ['001'], wakeupDelays: ['000'] },
      { deviceCycle: true },
    )
    const changes: string[] = []
    rig.mock.sim.on('change', (_p, s) => changes.push(s))
    await rig.driver.set('load', 'cycle', call())
    for (let i = 0; i < 60 && changes.length < 2; i++) await new Promise((r) => setTimeout(r, 100))
    expect(changes).toEqual(['off', 'on'])
  })

  it('the engine fences a node on a UPS: hard off (Z twice), read back off', async () => {
    gw = await startTestGateway({
      devices: { ups: { kind: 'apc-smartups', listen: '127.0.0.1:0', initial: 'on' } },
      nodes: { node1: { plugs: ['ups'] } },
      driverOverrides: { ups: { repeatGap: '1700ms' } },
    })
    const op = await gw.engine.fence('node1', 'off', { initiator: FENCER, timeoutMs: 15_000 })
    expect(op.results[0]).toMatchObject({ outcome: 'success', state: 'off' })
    expect((gw.lab.device('ups') as SmartUpsMock).sim.state('load')).toBe('off')
  })
})
