import { Opt, type OptionValues } from '../../core/options.js'
import { commandTimeoutOption, consoleOptions } from '../console/options.js'

/** The wti-nps driver's config section (besides `driver` and the common `deviceCycle`). */
export const WTI_NPS_OPTIONS = {
  ...consoleOptions({
    user: Opt.optionalString(
      'the login name, for units that ask one (`Login Name:`); older units ask a password only',
    ),
    reply: 'one reply (a `/S` table allows 2×)',
  }),
  commandTimeout: commandTimeoutOption(
    '`/ON`, `/OFF`, `/BOOT` until the prompt returns (`/BOOT *` takes about 20 s; cluster-glue allows 60 s)',
    60_000,
  ),
}

export type WtiNpsConfig = OptionValues<typeof WTI_NPS_OPTIONS>
