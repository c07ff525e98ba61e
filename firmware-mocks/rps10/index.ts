import { Fields } from '../../src/config/fields.js'
import { BAUD_RATES, isUnit } from '../../protocols/rps10.js'
import type { FieldProblem } from '../../drivers/driver.js'
import type { MockFactory } from '../mock.js'
import { Rps10Mock, type Rps10MockSpec } from './mock.js'

export const rps10Mock: MockFactory<Rps10MockSpec> = {
  kind: 'rps10',
  driver: 'rps10',
  description:
    'a WTI RPS-10 chain (units 0-9) on a pseudo-terminal or a raw TCP port; DTR reset, pacing, faults',
  endpoint: { serial: 'an RPS-10 line' },
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
    const baud = f.int('baud', { default: 9600 })
    if (!(BAUD_RATES as readonly number[]).includes(baud))
      problems.push({ path: [...at, 'baud'], message: `9600 or 2400 (DIP switch), got ${baud}` })
    const spec: Rps10MockSpec = {
      baud: baud === 2400 ? 2400 : 9600,
      toggleDelayMs: f.duration('toggleDelay', 5000, { max: 60_000 }),
      readyDelayMs: f.duration('readyDelay', 200, { max: 30_000 }),
      commandGapMs: f.duration('commandGap', 0, { max: 10_000 }),
      eol: f.oneOf('lineEnding', ['crlf', 'lfcr'] as const, 'crlf') === 'lfcr' ? '\n\r' : '\r\n',
      paced: f.bool('pacing', true),
      powerUpState: f.oneOf('powerUpState', ['on', 'off'] as const, 'off'),
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
