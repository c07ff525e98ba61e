import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { PowerDriver } from '../../drivers/driver.js'
import { createDriver, readDeviceSection } from '../../drivers/registry.js'
import { readLab } from '../../firmware-mocks/lab-file.js'
import { Lab } from '../../firmware-mocks/lab.js'
import type { MockDevice } from '../../firmware-mocks/mock.js'
import { readSecret } from '../../src/config/secrets.js'
import type { DriverMockPair } from '../pairs.js'
import { type TestGateway, startTestGateway } from './gateway.js'

export interface PairDevice {
  lab: Lab
  mock: MockDevice
  driver: PowerDriver
  /** What the driver's factory says of this config: can the device read its outlets back? */
  factoryVerifies: boolean
  stop(): Promise<void>
}

/** The pair table's word: false for a device that cannot read back (default true). */
export const pairVerifies = (pair: DriverMockPair): boolean => pair.verifies !== false

/** One mock of the pair and a driver reaching it (no engine): for the conformance suite. */
export async function startPairDevice(pair: DriverMockPair): Promise<PairDevice> {
  const dir = mkdtempSync(path.join(tmpdir(), 'fencegate-pair-'))
  const { lab: spec, problems } = readLab({ devices: { d: pair.lab } })
  if (problems.length) throw new Error(`lab: ${JSON.stringify(problems)}`)
  for (const d of spec.devices) if (d.common.pty) d.common.pty = d.common.pty.replace('{tmp}', dir)
  const lab = await Lab.start(spec)
  const section = { ...lab.driverSections().d!, ...pair.driverOverrides }
  const device = readDeviceSection(section)
  if (device.problems.length || !device.kind)
    throw new Error(`driver section: ${JSON.stringify(device.problems)}`)
  const driver = createDriver({ ...device, kind: device.kind }, { deviceId: 'd', readSecret, log: () => {} })
  return {
    lab,
    mock: lab.device('d')!,
    driver,
    factoryVerifies: device.verifies,
    async stop() {
      await driver.close()
      await lab.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/**
 * The pair's mock behind a full engine: node `one` on the first plug and, where the device has
 * more (a single-target BMC has one), node `two` on the next two. A device that cannot read back
 * can never be a fencing level: its nodes are `fence: false` (operator power only).
 */
export function startPairGateway(
  pair: DriverMockPair,
  engine: Record<string, unknown> = {},
): Promise<TestGateway> {
  const [a, b, c] = pair.plugs
  const operatorOnly = pairVerifies(pair) ? {} : { fence: false }
  const nodes: Record<string, unknown> = { one: { plugs: [`d:${a}`], ...operatorOnly } }
  if (b) nodes.two = { plugs: [`d:${b}`, ...(c ? [`d:${c}`] : [])], ...operatorOnly }
  return startTestGateway({
    devices: { d: pair.lab },
    driverOverrides: { d: pair.driverOverrides ?? {} },
    nodes,
    engine,
  })
}
