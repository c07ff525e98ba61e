import { Type } from 'typebox'
import { Fields } from '../../core/fields.js'
import { Opt, readOptions } from '../../core/options.js'
import { consoleLabOptions } from '../console-mock.js'
import type { MockFactory } from '../mock.js'
import { APC_FIRMWARES } from './firmware.js'
import { ApcMenuMock, type ApcMenuMockSpec } from './mock.js'

/** The own fields of a `kind: apc-menu` lab device. */
export const APC_MENU_LAB_OPTIONS = {
  firmware: Opt.oneOf(
    APC_FIRMWARES,
    'the console: AP9211, AP79xx v2 or v3 menus, a v3 with its menus moved, or the AOS v5-7 `apc>` CLI',
    { default: 'ap79xx-v3' },
  ),
  ...consoleLabOptions({
    user: Opt.string('the console user', { default: 'apc' }),
    password: 'apc',
    confirm: "ask `Enter 'YES' to continue` before a command",
  }),
  systemName: Opt.string('the name the console screens show', { default: 'apc-lab' }),
  ssh: Opt.custom<ApcMenuMockSpec['ssh']>(
    Type.Object({ listen: Type.String() }),
    'also an SSH console on this port (one session for telnet and SSH together); the driver section then uses SSH, the host key pinned',
    {
      type: '`{ listen: HOST:PORT }`',
      defaultText: 'none',
      read: (f, name) => {
        if (!f.has(name)) return undefined
        const s = new Fields((f.section[name] ?? {}) as Record<string, unknown>, [...f.base, name])
        const ssh = { listen: s.hostPort('listen') }
        s.noOthers()
        f.problems.push(...s.problems)
        return ssh
      },
    },
  ),
}

export const apcMenuMock: MockFactory<ApcMenuMockSpec> = {
  kind: 'apc-menu',
  driver: 'apc-menu',
  description:
    'an APC MasterSwitch / Rack PDU console over telnet: AP9211, AP79xx v2/v3 menus (and a drifted v3), or the AOS v5-7 apc> CLI',
  endpoint: 'network',
  options: APC_MENU_LAB_OPTIONS,
  validate(section, at) {
    const f = new Fields(section, at)
    const spec = readOptions(f, APC_MENU_LAB_OPTIONS)
    f.noOthers()
    return { spec, problems: f.problems }
  },
  create: (id, common, spec) => new ApcMenuMock(id, common, spec),
  driverSection: (mock, secretsDir) => (mock as ApcMenuMock).driverSection(secretsDir),
}
