import { Fields } from '../../src/config/fields.js'
import { BAUD_RATES, type Unit, isUnit } from '../../protocols/rps10.js'
import type { DriverFactory, FieldProblem } from '../driver.js'
import { type Rps10Config, Rps10Driver, type Rps10Handshake } from './driver.js'

export const rps10Driver: DriverFactory<Rps10Config> = {
  kind: 'rps10',
  description:
    'WTI RPS-10(M) serial power switches, a chain of units 0-9, on a local tty or a TCP terminal server',
  deviceCycleAllowed: (c) => c.deviceCycle,
  validate(section) {
    const f = new Fields(section)
    const problems: FieldProblem[] = []
    const port = f.optStr('port')
    f.mark('server')
    const server = f.has('server') ? f.hostPort('server') : undefined
    if (!port && !server)
      problems.push({
        path: ['port'],
        message: 'required: port (a tty such as /dev/ttyS1) or server (HOST:PORT)',
      })
    if (port && server) problems.push({ path: ['server'], message: 'give port or server, not both' })
    const baud = f.int('baud', { default: 9600 })
    if (!(BAUD_RATES as readonly number[]).includes(baud))
      problems.push({
        path: ['baud'],
        message: `an RPS-10 runs at 9600 or 2400 baud (DIP switch), got ${baud}`,
      })
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
      port,
      server,
      baud: baud === 2400 ? 2400 : 9600,
      handshake,
      dtrLowMs: f.duration('dtrLow', 2000, { min: 50, max: 10_000 }),
      readyTimeoutMs: f.duration('readyTimeout', 12_000, { min: 100, max: 60_000 }),
      settleMs: f.duration('settle', 500, { min: 0, max: 10_000 }),
      units,
      commandGapMs: f.duration('commandGap', baud === 2400 ? 1500 : 500, { min: 0, max: 10_000 }),
      replyTimeoutMs: f.duration('replyTimeout', 5000, { min: 50, max: 60_000 }),
      toggleDelayMs: f.duration('toggleDelay', 10_000, { min: 0, max: 60_000 }),
      connectTimeoutMs: f.duration('connectTimeout', 2000, { min: 1 }),
      deviceCycle: f.bool('deviceCycle', false),
    }
    f.noOthers()
    return { config, problems: [...problems, ...f.problems] }
  },
  create: (config, ctx) => new Rps10Driver(config, ctx.deviceId),
}
