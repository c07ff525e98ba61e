import { DEFAULT_BAUD, REPEAT_MIN_MS } from '../../protocols/apc-smart.js'
import { Opt, type OptionValues } from '../../core/options.js'
import { serialTargetOptions } from '../transport/serial-target.js'

/** The apc-smartups driver's config section (besides `driver` and the common `deviceCycle`). */
export const SMARTUPS_OPTIONS = {
  ...serialTargetOptions({
    baud: DEFAULT_BAUD,
    bauds: [1200, 2400, 4800, 9600],
    baudHint: 'a Smart-UPS runs at 2400 baud (some at 1200-9600)',
  }),
  charDelay: Opt.duration(
    'pause between the characters of a command (cluster-glue: 50 ms; the firmware drops typed-ahead bytes)',
    { default: 50, max: 1000 },
  ),
  repeatGap: Opt.duration(
    'pause between the two sends of a confirmed command, `Z` or ^N (NUT: at least 1.5 s)',
    { default: 2000, min: REPEAT_MIN_MS, max: 10_000 },
  ),
  replyTimeout: Opt.duration('longest wait for one reply (cluster-glue: 3 s)', {
    default: 3000,
    min: 50,
    max: 60_000,
  }),
}

export type SmartUpsConfig = OptionValues<typeof SMARTUPS_OPTIONS>
