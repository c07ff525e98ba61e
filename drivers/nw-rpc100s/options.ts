import { BAUD } from '../../protocols/nw-rpc100s.js'
import { Opt, type OptionValues } from '../../core/options.js'
import { serialTargetOptions } from '../transport/serial-target.js'

/** The nw-rpc100s driver's config section (besides `driver` and the common `deviceCycle`). */
export const NW_RPC100S_OPTIONS = {
  ...serialTargetOptions({ baud: BAUD, bauds: [BAUD], baudHint: 'an RPC-100S runs at 9600 baud (8N1)' }),
  replyTimeout: Opt.duration('longest wait for `OK` after on, off or cycle (cluster-glue: 5 s)', {
    default: 5000,
    min: 50,
    max: 60_000,
  }),
  probeTimeout: Opt.duration('longest wait for `Invalid Entry` after the probe (cluster-glue: 12 s)', {
    default: 12_000,
    min: 50,
    max: 60_000,
  }),
  cycleOff: Opt.duration(
    "the unit's own cycle: how long the outlet stays off, whole seconds (cluster-glue: 10 s)",
    {
      default: 10_000,
      min: 1000,
      max: 999_000,
    },
  ),
}

export type NwRpc100sConfig = OptionValues<typeof NW_RPC100S_OPTIONS>
