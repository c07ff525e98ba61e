import { OUTLET } from '../../protocols/nw-rpc100s.js'
import { Fields } from '../../core/fields.js'
import { readOptions } from '../../core/options.js'
import type { DriverFactory } from '../driver.js'
import { NwRpc100sDriver } from './driver.js'
import { NW_RPC100S_OPTIONS, type NwRpc100sConfig } from './options.js'

export const nwRpc100sDriver: DriverFactory<NwRpc100sConfig> = {
  kind: 'nw-rpc100s',
  description:
    'Night/Ware RPC-100S serial switch, one outlet, on a tty or a TCP terminal server; cannot read back (unverified: operator power only)',
  singlePlug: OUTLET,
  // the unit has no status command: it can never prove a node off
  verifies: false,
  options: NW_RPC100S_OPTIONS,
  validate(section) {
    const f = new Fields(section)
    const config = readOptions(f, NW_RPC100S_OPTIONS)
    if (config.cycleOffMs % 1000 !== 0)
      f.problems.push({ path: ['cycleOff'], message: 'the unit counts whole seconds: 1s to 999s' })
    f.noOthers()
    return { config, problems: f.problems }
  },
  create: (config, ctx) => new NwRpc100sDriver(config, ctx.deviceId, { log: ctx.log }),
}
