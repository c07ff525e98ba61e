import type { FieldProblem } from '../../drivers/driver.js'
import { BAUD } from '../../protocols/nw-rpc100s.js'
import { Fields } from '../../src/config/fields.js'
import type { MockFactory } from '../mock.js'
import { NwRpc100sMock, type NwRpc100sSpec } from './mock.js'

export const nwRpc100sMock: MockFactory<NwRpc100sSpec> = {
  kind: 'nw-rpc100s',
  driver: 'nw-rpc100s',
  description:
    'a Night/Ware RPC-100S (one outlet, no status) on a pseudo-terminal or a raw TCP port; the DIP switch, faults',
  validate(section, at) {
    const f = new Fields(section, at)
    const problems: FieldProblem[] = []
    f.mark('kind', 'listen', 'pty', 'plugs', 'transitionDelay', 'initial')
    if ((section.pty === undefined) === (section.listen === undefined))
      problems.push({
        path: [...at, 'pty'],
        message: 'an RPC-100S line is either pty: PATH or listen: HOST:PORT',
      })
    if (section.plugs !== undefined)
      problems.push({
        path: [...at, 'plugs'],
        message: 'an RPC-100S has one outlet (plug outlet): leave plugs out',
      })
    const spec: NwRpc100sSpec = {
      baud: f.int('baud', { default: BAUD, min: BAUD, max: BAUD }),
      defaultOff: f.bool('defaultOff', false),
      paced: f.bool('pacing', true),
    }
    f.noOthers()
    return { spec, problems: [...problems, ...f.problems] }
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
