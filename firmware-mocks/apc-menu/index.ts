import { chmodSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { Fields } from '../../src/config/fields.js'
import type { FieldProblem } from '../../drivers/driver.js'
import type { MockFactory } from '../mock.js'
import { APC_FIRMWARES, type ApcFirmwareKind } from './firmware.js'
import { ApcMenuMock, type ApcMenuMockSpec } from './mock.js'

export const apcMenuMock: MockFactory<ApcMenuMockSpec> = {
  kind: 'apc-menu',
  driver: 'apc-menu',
  description:
    'an APC MasterSwitch / Rack PDU console over telnet: AP9211, AP79xx v2/v3 menus (and a drifted v3), or the AOS v5-7 apc> CLI',
  validate(section, at) {
    const f = new Fields(section, at)
    const problems: FieldProblem[] = []
    f.mark('kind', 'listen', 'pty', 'plugs', 'transitionDelay', 'initial', 'ssh')
    let ssh: ApcMenuMockSpec['ssh']
    if (section.ssh !== undefined) {
      const s = new Fields((section.ssh ?? {}) as Record<string, unknown>, [...at, 'ssh'])
      ssh = { listen: s.hostPort('listen') }
      s.noOthers()
      problems.push(...s.problems)
    }
    if (section.listen === undefined)
      problems.push({ path: [...at, 'listen'], message: 'required: the telnet port, HOST:PORT' })
    if (section.pty !== undefined)
      problems.push({
        path: [...at, 'pty'],
        message: 'an APC console is reached over the network: use listen',
      })
    const spec: ApcMenuMockSpec = {
      firmware: f.oneOf<ApcFirmwareKind>('firmware', APC_FIRMWARES, 'ap79xx-v3'),
      user: f.str('user', { default: 'apc' }),
      password: f.str('password', { default: 'apc' }),
      confirm: f.bool('confirm', true),
      maxLoginAttempts: f.int('maxLoginAttempts', { default: 3, min: 1, max: 100 }),
      systemName: f.str('systemName', { default: 'apc-lab' }),
      ssh,
    }
    f.noOthers()
    return { spec, problems: [...problems, ...f.problems] }
  },
  create: (id, common, spec) => new ApcMenuMock(id, common, spec),
  driverSection(mock, secretsDir) {
    const m = mock as ApcMenuMock
    const passwordFile = path.join(secretsDir, `${m.id}.apc-password`)
    writeFileSync(passwordFile, m.spec.password, { mode: 0o600 })
    chmodSync(passwordFile, 0o600)
    // a unit with SSH is reached over SSH, its host key pinned
    if (m.ssh)
      return {
        driver: 'apc-menu',
        transport: 'ssh',
        host: m.ssh.address.host,
        port: m.ssh.address.port,
        hostKey: m.ssh.fingerprint,
        user: m.spec.user,
        passwordFile,
      }
    return {
      driver: 'apc-menu',
      host: m.address.host,
      port: m.address.port,
      user: m.spec.user,
      passwordFile,
    }
  },
}
