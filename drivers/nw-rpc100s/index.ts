import { BAUD, OUTLET } from '../../protocols/nw-rpc100s.js'
import { Fields } from '../../src/config/fields.js'
import type { DriverFactory } from '../driver.js'
import { readSerialTarget } from '../transport/serial-target.js'
import { type NwRpc100sConfig, NwRpc100sDriver } from './driver.js'

/** Every option of the driver is read here (docs/drivers/nw-rpc100s.md). */
export const nwRpc100sDriver: DriverFactory<NwRpc100sConfig> = {
  kind: 'nw-rpc100s',
  description:
    'Night/Ware RPC-100S serial switch, one outlet, on a tty or a TCP terminal server; cannot read back (unverified: operator power only)',
  singlePlug: OUTLET,
  // the unit has no status command: it can never prove a node off
  verifies: false,
  deviceCycleAllowed: (c) => c.deviceCycle,
  validate(section) {
    const f = new Fields(section)
    const { target, problems } = readSerialTarget(f, {
      baud: BAUD,
      isBaud: (b) => b === BAUD,
      baudHint: 'an RPC-100S runs at 9600 baud (8N1)',
    })
    const cycleOffMs = f.duration('cycleOff', 10_000, { min: 1000, max: 999_000 })
    if (cycleOffMs % 1000 !== 0)
      problems.push({ path: ['cycleOff'], message: 'the unit counts whole seconds: 1s to 999s' })
    const config: NwRpc100sConfig = {
      ...target,
      replyTimeoutMs: f.duration('replyTimeout', 5000, { min: 50, max: 60_000 }),
      probeTimeoutMs: f.duration('probeTimeout', 12_000, { min: 50, max: 60_000 }),
      cycleOffS: Math.round(cycleOffMs / 1000),
      deviceCycle: f.bool('deviceCycle', false),
    }
    f.noOthers()
    return { config, problems: [...problems, ...f.problems] }
  },
  create: (config, ctx) => new NwRpc100sDriver(config, ctx.deviceId, { log: ctx.log }),
}
