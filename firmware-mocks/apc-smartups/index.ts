import type { FieldProblem } from '../../drivers/driver.js'
import { DEFAULT_BAUD, SHUTDOWN_DELAYS, WAKEUP_DELAYS } from '../../protocols/apc-smart.js'
import { Fields } from '../../src/config/fields.js'
import type { MockFactory } from '../mock.js'
import { SmartUpsMock, type SmartUpsSpec } from './mock.js'
import { LOAD } from './session.js'

function delays(
  section: Record<string, unknown>,
  name: string,
  def: readonly string[],
  at: (string | number)[],
) {
  const v = section[name]
  if (v === undefined) return { list: [...def], problem: undefined }
  const ok = Array.isArray(v) && v.length > 0 && v.every((x) => /^\d{3}$/.test(String(x)))
  return {
    list: ok ? (v as unknown[]).map(String) : [...def],
    problem: ok
      ? undefined
      : { path: [...at, name], message: 'a list of 3-digit second values, current first' },
  }
}

export const smartUpsMock: MockFactory<SmartUpsSpec> = {
  kind: 'apc-smartups',
  driver: 'apc-smartups',
  description:
    'an APC Smart-UPS on its serial port (pty or raw TCP): smart mode, registers, twice-sent load off/on',
  endpoint: { serial: 'a UPS serial line' },
  singlePlug: { id: LOAD, noun: 'a UPS' },
  validate(section, at) {
    const f = new Fields(section, at)
    const problems: FieldProblem[] = []
    f.mark('shutdownDelays', 'wakeupDelays')
    const sd = delays(section, 'shutdownDelays', SHUTDOWN_DELAYS, at)
    const wd = delays(section, 'wakeupDelays', WAKEUP_DELAYS, at)
    for (const p of [sd.problem, wd.problem]) if (p) problems.push(p)
    const spec: SmartUpsSpec = {
      baud: f.int('baud', { default: DEFAULT_BAUD, min: 1200, max: 9600 }),
      shutdownDelays: sd.list,
      wakeupDelays: wd.list,
      onBattery: f.bool('onBattery', false),
      paced: f.bool('pacing', true),
    }
    f.noOthers()
    return { spec, problems: [...problems, ...f.problems] }
  },
  create: (id, common, spec) => new SmartUpsMock(id, common, spec),
  driverSection: (mock) => {
    const m = mock as SmartUpsMock
    const where = m.ptyPath
      ? { port: m.ptyPath }
      : { server: `${m.line.address.host}:${m.line.address.port}` }
    return { driver: 'apc-smartups', ...where, baud: m.spec.baud }
  },
}
