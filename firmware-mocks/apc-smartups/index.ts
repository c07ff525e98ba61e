import { Type } from 'typebox'
import { DEFAULT_BAUD, SHUTDOWN_DELAYS, WAKEUP_DELAYS } from '../../protocols/apc-smart.js'
import { Fields } from '../../core/fields.js'
import { Opt, readOptions } from '../../core/options.js'
import type { MockFactory } from '../mock.js'
import { SmartUpsMock, type SmartUpsSpec } from './mock.js'
import { LOAD } from './session.js'

function delays(name: string, def: readonly string[]) {
  return Opt.custom<string[]>(
    Type.Array(Type.String({ pattern: '^\\d{3}$' })),
    `the ${name} delay values the UPS cycles through, in seconds, current first`,
    {
      type: 'list of 3-digit seconds',
      defaultText: def.map((d) => `\`${d}\``).join(', '),
      read: (f, field) => {
        const v = f.section[field]
        if (v === undefined) return [...def]
        if (Array.isArray(v) && v.length > 0 && v.every((x) => /^\d{3}$/.test(String(x))))
          return v.map(String)
        f.problems.push({
          path: [...f.base, field],
          message: 'a list of 3-digit second values, current first',
        })
        return [...def]
      },
    },
  )
}

/** The own fields of a `kind: apc-smartups` lab device. */
export const SMARTUPS_LAB_OPTIONS = {
  shutdownDelays: delays('shutdown (grace)', SHUTDOWN_DELAYS),
  wakeupDelays: delays('wakeup', WAKEUP_DELAYS),
  baud: Opt.int('the line speed', { default: DEFAULT_BAUD, min: 1200, max: 9600 }),
  onBattery: Opt.bool('the UPS runs on battery (a load off then waits for the mains)', { default: false }),
  pacing: Opt.bool('send at the line speed (off: as fast as the pty takes it)', { default: true }),
}

export const smartUpsMock: MockFactory<SmartUpsSpec> = {
  kind: 'apc-smartups',
  driver: 'apc-smartups',
  description:
    'an APC Smart-UPS on its serial port (pty or raw TCP): smart mode, registers, twice-sent load off/on',
  endpoint: { serial: 'a UPS serial line' },
  singlePlug: { id: LOAD, noun: 'a UPS' },
  options: SMARTUPS_LAB_OPTIONS,
  validate(section, at) {
    const f = new Fields(section, at)
    const o = readOptions(f, SMARTUPS_LAB_OPTIONS)
    const spec: SmartUpsSpec = {
      baud: o.baud,
      shutdownDelays: o.shutdownDelays,
      wakeupDelays: o.wakeupDelays,
      onBattery: o.onBattery,
      paced: o.pacing,
    }
    f.noOthers()
    return { spec, problems: f.problems }
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
