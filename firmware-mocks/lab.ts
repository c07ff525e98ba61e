import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { LabSpec } from './lab-file.js'
import type { MockDevice } from './mock.js'
import { MOCKS } from './registry.js'

/**
 * A set of running mock devices, started from a lab spec. Used by `fencegate lab`, by the demo
 * and by tests. Devices start in parallel; if one fails to start, the others are stopped.
 */
export class Lab {
  readonly devices = new Map<string, MockDevice>()
  /** Where mocks write the secrets their driver sections point at (mode 0600). */
  readonly secretsDir: string

  private constructor() {
    this.secretsDir = mkdtempSync(path.join(tmpdir(), 'fencegate-lab-'))
  }

  static async start(spec: Pick<LabSpec, 'devices'>): Promise<Lab> {
    const lab = new Lab()
    try {
      for (const d of spec.devices) {
        const factory = MOCKS.get(d.common.kind)
        if (!factory) throw new Error(`lab: unknown device kind ${d.common.kind}`)
        lab.devices.set(d.id, factory.create(d.id, d.common, d.spec))
      }
      for (const m of lab.devices.values()) m.attach?.(lab.devices)
      await Promise.all([...lab.devices.values()].map((m) => m.start()))
    } catch (e) {
      await lab.stop()
      throw e
    }
    return lab
  }

  device(id: string): MockDevice | undefined {
    return this.devices.get(id)
  }

  /** Driver config sections reaching every device: what a gateway config needs. */
  driverSections(): Record<string, Record<string, unknown>> {
    const out: Record<string, Record<string, unknown>> = {}
    for (const [id, m] of this.devices) out[id] = MOCKS.get(m.kind)!.driverSection(m, this.secretsDir)
    return out
  }

  async stop(): Promise<void> {
    await Promise.allSettled([...this.devices.values()].map((m) => m.stop()))
    rmSync(this.secretsDir, { recursive: true, force: true })
  }
}
