import { Type } from 'typebox'
import { BAUD_RATES, type Unit, isUnit } from '../../protocols/rps10.js'
import { Opt, type OptionValues } from '../../core/options.js'
import { serialTargetOptions } from '../transport/serial-target.js'

export type Rps10Handshake = 'dtr' | 'banner' | 'none'
const HANDSHAKES: readonly Rps10Handshake[] = ['dtr', 'banner', 'none']

/** The rps10 driver's config section (besides `driver` and the common `deviceCycle`). */
export const RPS10_OPTIONS = {
  ...serialTargetOptions({
    baud: 9600,
    bauds: BAUD_RATES,
    baudHint: 'an RPS-10 runs at 9600 or 2400 baud (DIP switch)',
  }),
  handshake: Opt.custom<Rps10Handshake>(
    Type.Union(HANDSHAKES.map((h) => Type.Literal(h))),
    'how the chain is made ready: `dtr` resets it by DTR and waits for the banner, `banner` waits for it, `none` only settles; a TCP server carries no DTR',
    {
      type: '`dtr`, `banner`, `none`',
      defaultText: '`dtr` on a tty, `none` on a server',
      read: (f, name) => {
        const server = f.has('server')
        const handshake = f.oneOf(name, HANDSHAKES, server ? 'none' : 'dtr')
        if (server && handshake === 'dtr')
          f.problems.push({
            path: [...f.base, name],
            message: 'a TCP terminal server carries no DTR: use banner or none (see docs/drivers/rps10.md)',
          })
        return handshake
      },
    },
  ),
  dtrLow: Opt.duration('how long DTR is held low in the reset', { default: 2000, min: 50, max: 10_000 }),
  readyTimeout: Opt.duration('wait for `RPS-10 Ready` after the handshake', {
    default: 12_000,
    min: 100,
    max: 60_000,
  }),
  settle: Opt.duration('handshake `none`: quiet time for a banner of a freshly opened port', {
    default: 500,
    max: 10_000,
  }),
  units: Opt.custom<Unit[] | undefined>(
    Type.Array(Type.Integer({ minimum: 0, maximum: 9 })),
    'the unit addresses on the chain, e.g. `[0, 1]`: others are refused without asking',
    {
      type: 'list of 0-9',
      defaultText: 'discovered',
      read: (f, name) => {
        if (!f.has(name)) return undefined
        const raw = f.section[name]
        if (!Array.isArray(raw) || raw.length === 0 || !raw.every((u) => isUnit(String(u)))) {
          f.problems.push({ path: [...f.base, name], message: 'expected a list of unit addresses 0-9' })
          return undefined
        }
        return [...new Set(raw.map((u) => String(u) as Unit))]
      },
    },
  ),
  commandGap: Opt.duration('least time between two commands (WTI: 0.5 s at 9600 baud, 1.5 s at 2400)', {
    defaultText: '`500ms` (9600 baud), `1500ms` (2400)',
    max: 10_000,
  }),
  replyTimeout: Opt.duration('longest wait for `Complete` after on, off or status (cluster-glue: 5 s)', {
    default: 5000,
    min: 50,
    max: 60_000,
  }),
  toggleDelay: Opt.duration(
    "the units' own off time of a toggle (DIP switch: 5 or 10 s), bounding a device cycle",
    {
      default: 10_000,
      max: 60_000,
    },
  ),
}

export type Rps10Config = OptionValues<typeof RPS10_OPTIONS>
