import { Opt, type OptionValues } from '../../core/options.js'
import { commandTimeoutOption, consoleOptions } from '../console/options.js'

/** The baytech driver's config section (besides `driver` and the common `deviceCycle`). */
export const BAYTECH_OPTIONS = {
  ...consoleOptions({
    user: Opt.string('the console user'),
    reply: 'one reply (`STATUS` allows 2×)',
  }),
  commandTimeout: commandTimeoutOption(
    '`ON`, `OFF`, `REBOOT` until the prompt returns (cluster-glue allows 30 s for `REBOOT`)',
    30_000,
  ),
}

export type BaytechConfig = OptionValues<typeof BAYTECH_OPTIONS>
