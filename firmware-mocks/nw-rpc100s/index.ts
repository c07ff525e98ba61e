import { BAUD, OUTLET } from '../../protocols/nw-rpc100s.js'
import { Fields } from '../../core/fields.js'
import { Opt, readOptions } from '../../core/options.js'
import type { MockFactory } from '../mock.js'
import { NwRpc100sMock, type NwRpc100sSpec } from './mock.js'

/** The own fields of a `kind: nw-rpc100s` lab device. */
export const NW_RPC100S_LAB_OPTIONS = {
  baud: Opt.int('the line speed (the unit knows only 9600)', { default: BAUD, min: BAUD, max: BAUD }),
  defaultOff: Opt.bool(
    'the "default OFF" DIP switch: the relay rests off and every command is inverted (clients must leave it unset)',
    {
      default: false,
    },
  ),
  pacing: Opt.bool('send at the line speed (off: as fast as the pty takes it)', { default: true }),
}

export const nwRpc100sMock: MockFactory<NwRpc100sSpec> = {
  kind: 'nw-rpc100s',
  driver: 'nw-rpc100s',
  description:
    'a Night/Ware RPC-100S (one outlet, no status) on a pseudo-terminal or a raw TCP port; the DIP switch, faults',
  endpoint: { serial: 'an RPC-100S line' },
  singlePlug: { id: OUTLET, noun: 'an RPC-100S' },
  options: NW_RPC100S_LAB_OPTIONS,
  validate(section, at) {
    const f = new Fields(section, at)
    const o = readOptions(f, NW_RPC100S_LAB_OPTIONS)
    const spec: NwRpc100sSpec = { baud: o.baud, defaultOff: o.defaultOff, paced: o.pacing }
    f.noOthers()
    return { spec, problems: f.problems }
  },
  create: (id, common, spec) => new NwRpc100sMock(id, common, spec),
  driverSection: (mock) => {
    const m = mock as NwRpc100sMock
    const where = m.ptyPath
      ? { port: m.ptyPath }
      : { server: `${m.line.address.host}:${m.line.address.port}` }
    return { driver: 'nw-rpc100s', ...where }
  },
}
