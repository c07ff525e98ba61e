import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createDriver, readDeviceSection } from '../../drivers/registry.js'
import type { Rps10Driver } from '../../drivers/rps10/driver.js'
import { readLab } from '../../firmware-mocks/lab-file.js'
import { Lab } from '../../firmware-mocks/lab.js'
import type { Rps10Mock } from '../../firmware-mocks/rps10/mock.js'
import { FenceError } from '../../core/errors.js'

/** A started RPS-10 mock and a driver that reaches it; `stop()` ends both and removes the temp dir. */
export interface Rps10Rig {
  mock: Rps10Mock
  driver: Rps10Driver
  dir: string
  section: Record<string, unknown>
  stop(): Promise<void>
}

export const call = (ms = 5000) => ({ signal: AbortSignal.timeout(ms) })

export async function startRps10(
  lab: Record<string, unknown>,
  overrides: Record<string, unknown> = {},
): Promise<Rps10Rig> {
  const dir = mkdtempSync(path.join(tmpdir(), 'fg-rps10-'))
  const { lab: spec, problems } = readLab({ devices: { rps: { kind: 'rps10', ...lab } } })
  if (problems.length) throw new Error(`lab: ${JSON.stringify(problems)}`)
  for (const d of spec.devices) if (d.common.pty) d.common.pty = d.common.pty.replace('{tmp}', dir)
  const started = await Lab.start(spec)
  const mock = started.device('rps') as Rps10Mock
  const section = { ...started.driverSections().rps!, ...overrides }
  const device = readDeviceSection(section)
  delete section.driver
  if (device.problems.length) {
    await started.stop()
    throw new Error(`driver: ${JSON.stringify(device.problems)}`)
  }
  const driver = createDriver(
    { ...device, kind: 'rps10' },
    {
      deviceId: 'rps',
      readSecret: () => '',
      log: () => {},
    },
  ) as Rps10Driver
  return {
    mock,
    driver,
    dir,
    section,
    async stop() {
      await driver.close()
      await started.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** The call's rejection, asserted to be a FenceError (a success fails the test). */
export async function failure(p: Promise<unknown>): Promise<FenceError> {
  try {
    await p
  } catch (e) {
    if (e instanceof FenceError) return e
    throw e
  }
  throw new Error('expected a failure, got success')
}
