import { Fields } from '../../src/config/fields.js'
import { BAUD_RATES, type Unit, isUnit } from '../../protocols/rps10.js'
import type { DriverFactory } from '../driver.js'
import { readSerialTarget } from '../transport/serial-target.js'
import { type Rps10Config, Rps10Driver, type Rps10Handshake } from './driver.js'

export const rps10Driver: DriverFactory<Rps10Config> = {
  kind: 'rps10',
  description:
    'WTI RPS-10(M) serial power switches, a chain of units 0-9, on a local tty or a TCP terminal server',
  validate(section) {
    const f = new Fields(section)
    const { target, problems } = readSerialTarget(f, {
      baud: 9600,
      isBaud: (b) => (BAUD_RATES as readonly number[]).includes(b),
      baudHint: 'an RPS-10 runs at 9600 or 2400 baud (DIP switch)',
    })
    const server = target.server
    const handshake = f.oneOf<Rps10Handshake>('handshake', ['dtr', 'banner', 'none'], server ? 'none' : 'dtr')
    if (server && handshake === 'dtr')
      problems.push({
        path: ['handshake'],
        message: 'a TCP terminal server carries no DTR: use banner or none (see docs/drivers/rps10.md)',
      })
    let units: Unit[] | undefined
    if (f.has('units')) {
      const raw = section.units
      f.mark('units')
      if (!Array.isArray(raw) || raw.length === 0 || !raw.every((u) => isUnit(String(u))))
        problems.push({ path: ['units'], message: 'expected a list of unit addresses 0-9' })
      else units = [...new Set(raw.map((u) => String(u) as Unit))]
    }
    const config: Rps10Config = {
      ...target,
      handshake,
      dtrLowMs: f.duration('dtrLow', 2000, { min: 50, max: 10_000 }),
      readyTimeoutMs: f.duration('readyTimeout', 12_000, { min: 100, max: 60_000 }),
      settleMs: f.duration('settle', 500, { min: 0, max: 10_000 }),
      units,
      commandGapMs: f.duration('commandGap', target.baud === 2400 ? 1500 : 500, { min: 0, max: 10_000 }),
      replyTimeoutMs: f.duration('replyTimeout', 5000, { min: 50, max: 60_000 }),
      toggleDelayMs: f.duration('toggleDelay', 10_000, { min: 0, max: 60_000 }),
    }
    f.noOthers()
    return { config, problems: [...problems, ...f.problems] }
  },
  create: (config, ctx) => new Rps10Driver(config, ctx.deviceId, { log: ctx.log }),
}
