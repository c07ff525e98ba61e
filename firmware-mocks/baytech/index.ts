import { Fields } from '../../core/fields.js'
import { Opt, readOptions } from '../../core/options.js'
import { ConsoleMock, consoleLabOptions } from '../console-mock.js'
import type { CommonLabSpec, MockFactory } from '../mock.js'
import { BaytechFirmware, type BaytechSpec } from './firmware.js'

/** The own fields of a `kind: baytech` lab device. */
export const BAYTECH_LAB_OPTIONS = {
  ...consoleLabOptions({
    user: Opt.string('the console user', { default: 'admin' }),
    password: 'baytech',
    confirm: 'ask `(Y/N)>` before a command',
  }),
  unitId: Opt.string('the `Unit ID:` of the banner', { default: 'RPC-lab' }),
  rebootDelay: Opt.duration('how long `REBOOT` keeps the outlet off', { default: 500, max: 60_000 }),
  sessions: Opt.int('telnet sessions at once (a BayTech takes several)', { default: 4, min: 1, max: 64 }),
}

/**
 * A BayTech RPC-5 console on a telnet port. Unlike APC and WTI units, a BayTech takes several
 * telnet sessions at once (cluster-glue's apcmaster.c notes: "The APC MasterSwitch, unlike the
 * BayTech network power switch, accepts only one (telnet) connection/session at a time"), and
 * cluster-glue's baytech plugin relies on it: it logs in again for each on/off while its first
 * session is still open. `sessions` sets the limit (default 4).
 */
export class BaytechMock extends ConsoleMock<BaytechSpec> {
  constructor(id: string, common: CommonLabSpec, spec: BaytechSpec) {
    super('baytech', id, common, spec, {
      firmware: (sim, t, note) => new BaytechFirmware(sim, spec, t, note),
      cycleOffMs: spec.rebootDelayMs,
      sessions: spec.sessions,
    })
  }

  info(): Record<string, unknown> {
    return { unitId: this.spec.unitId, user: this.spec.user, sessionOpen: this.telnet.busy }
  }
}

export const baytechMock: MockFactory<BaytechSpec> = {
  kind: 'baytech',
  driver: 'baytech',
  description:
    'a BayTech RPC-5 console over telnet: username>/password>, menu, RPC-5> prompt, STATUS, ON n, OFF n',
  endpoint: 'network',
  options: BAYTECH_LAB_OPTIONS,
  validate(section, at) {
    const f = new Fields(section, at)
    const spec = readOptions(f, BAYTECH_LAB_OPTIONS)
    f.noOthers()
    return { spec, problems: f.problems }
  },
  create: (id, common, spec) => new BaytechMock(id, common, spec),
  driverSection: (mock, secretsDir) => (mock as BaytechMock).driverSection(secretsDir),
}
