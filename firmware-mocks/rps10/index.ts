import { Type } from 'typebox'
import { Fields } from '../../core/fields.js'
import { Opt, readOptions } from '../../core/options.js'
import { BAUD_RATES, isUnit } from '../../protocols/rps10.js'
import type { FieldProblem } from '../../core/problems.js'
import type { MockFactory } from '../mock.js'
import { Rps10Mock, type Rps10MockSpec } from './mock.js'

/** The own fields of a `kind: rps10` lab device. */
export const RPS10_LAB_OPTIONS = {
  baud: Opt.custom<number>(Type.Integer({ default: 9600 }), "the units' DIP switch", {
    type: '9600, 2400',
    defaultText: '`9600`',
    read: (f, name) => {
      const baud = f.int(name, { default: 9600 })
      if (!(BAUD_RATES as readonly number[]).includes(baud))
        f.problems.push({ path: [...f.base, name], message: `9600 or 2400 (DIP switch), got ${baud}` })
      return baud
    },
  }),
  toggleDelay: Opt.duration("the units' off time of a toggle (`T`)", { default: 5000, max: 60_000 }),
  readyDelay: Opt.duration('from a DTR reset to `RPS-10 Ready`', { default: 200, max: 30_000 }),
  commandGap: Opt.duration('a command sooner than this after the last is lost, as on a real unit', {
    default: 0,
    max: 10_000,
  }),
  lineEnding: Opt.oneOf(['crlf', 'lfcr'], 'how the units end their lines (firmware versions differ)', {
    default: 'crlf',
  }),
  pacing: Opt.bool('send at the line speed (off: as fast as the pty takes it)', { default: true }),
  powerUpState: Opt.oneOf(['on', 'off'], 'the outlets after a DTR reset, unless `initial` is given', {
    default: 'off',
  }),
}

export const rps10Mock: MockFactory<Rps10MockSpec> = {
  kind: 'rps10',
  driver: 'rps10',
  description:
    'a WTI RPS-10 chain (units 0-9) on a pseudo-terminal or a raw TCP port; DTR reset, pacing, faults',
  endpoint: { serial: 'an RPS-10 line' },
  options: RPS10_LAB_OPTIONS,
  validate(section, at, common) {
    const f = new Fields(section, at)
    const problems: FieldProblem[] = []
    const plugs = common.plugs
    if (typeof plugs === 'number' && (plugs < 1 || plugs > 10))
      problems.push({ path: [...at, 'plugs'], message: 'a chain has 1 to 10 units (ids 0…N-1)' })
    if (Array.isArray(plugs)) {
      const ids = plugs.map((p) => p.id)
      if (!ids.every(isUnit) || new Set(ids).size !== ids.length)
        problems.push({ path: [...at, 'plugs'], message: 'plug ids are distinct unit addresses 0-9' })
    }
    const o = readOptions(f, RPS10_LAB_OPTIONS)
    const spec: Rps10MockSpec = {
      baud: o.baud === 2400 ? 2400 : 9600,
      toggleDelayMs: o.toggleDelayMs,
      readyDelayMs: o.readyDelayMs,
      commandGapMs: o.commandGapMs,
      eol: o.lineEnding === 'lfcr' ? '\n\r' : '\r\n',
      paced: o.pacing,
      powerUpState: o.powerUpState,
      explicitInitial: common.initialGiven === true,
    }
    f.noOthers()
    return { spec, problems: [...problems, ...f.problems] }
  },
  create: (id, common, spec) => new Rps10Mock(id, common, spec),
  driverSection: (mock) => {
    const m = mock as Rps10Mock
    const common = {
      driver: 'rps10',
      baud: m.spec.baud,
      toggleDelay: `${m.spec.toggleDelayMs}ms`,
      // the mock needs no more pause than it was given; a real unit wants the driver's default
      commandGap: `${m.spec.commandGapMs}ms`,
    }
    if (m.ptyPath) return { ...common, port: m.ptyPath, dtrLow: '500ms', readyTimeout: '3s' }
    const { host, port } = m.address
    return { ...common, server: `${host}:${port}`, handshake: 'none', settle: '500ms' }
  },
}
