import { Fields } from '../../core/fields.js'
import { Opt, readOptions } from '../../core/options.js'
import { ConsoleMock, consoleLabOptions } from '../console-mock.js'
import type { CommonLabSpec, MockFactory } from '../mock.js'
import { WtiNpsFirmware, type WtiNpsSpec } from './firmware.js'

/** The own fields of a `kind: wti-nps` lab device. */
export const WTI_NPS_LAB_OPTIONS = {
  prompt: Opt.oneOf(['NPS', 'IPS', 'TPS', 'NBB', 'MPC', 'RSM', 'VMR'], "the prompt's name (`NPS>`)", {
    default: 'NPS',
  }),
  ...consoleLabOptions({
    user: Opt.optionalString('a login name the unit asks first (newer units); none: a password only'),
    password: 'wti',
    confirm: 'ask `(Y/N):` before a command without `,Y`',
  }),
  bootDelay: Opt.duration("how long `/BOOT` keeps the plug off (the unit's boot delay)", {
    default: 500,
    max: 60_000,
  }),
}

/** A WTI NPS / IPS console on a telnet port; one session at a time, as the units allow. */
export class WtiNpsMock extends ConsoleMock<WtiNpsSpec> {
  constructor(id: string, common: CommonLabSpec, spec: WtiNpsSpec) {
    super('wti-nps', id, common, spec, {
      firmware: (sim, t, note) => new WtiNpsFirmware(sim, spec, t, note),
      cycleOffMs: spec.bootDelayMs,
    })
  }

  info(): Record<string, unknown> {
    return { prompt: `${this.spec.prompt}>`, confirm: this.spec.confirm, sessionOpen: this.telnet.busy }
  }
}

export const wtiNpsMock: MockFactory<WtiNpsSpec> = {
  kind: 'wti-nps',
  driver: 'wti-nps',
  description: 'a WTI NPS/IPS/TPS console over telnet: password, NPS> prompt, /S table, /ON /OFF /BOOT',
  endpoint: 'network',
  options: WTI_NPS_LAB_OPTIONS,
  validate(section, at) {
    const f = new Fields(section, at)
    const spec = readOptions(f, WTI_NPS_LAB_OPTIONS)
    f.noOthers()
    return { spec, problems: f.problems }
  },
  create: (id, common, spec) => new WtiNpsMock(id, common, spec),
  driverSection: (mock, secretsDir) => (mock as WtiNpsMock).driverSection(secretsDir),
}
