import { chmodSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { Privilege } from '../../protocols/ipmi/constants.js'
import type { MockFactory } from '../mock.js'
import { PLUG } from './commands.js'
import { BmcMock } from './mock.js'
import { BMC_LAB_OPTIONS, type BmcSpec, readBmcSpec } from './spec.js'

export const bmcMock: MockFactory<BmcSpec> = {
  kind: 'bmc',
  driver: 'ipmi',
  description:
    'a BMC speaking IPMI v2.0 / RMCP+ (cipher suites 3 and 17) on UDP; ipmitool and fence_ipmilan drive it',
  endpoint: 'network',
  singlePlug: { id: PLUG, noun: 'a BMC' },
  options: BMC_LAB_OPTIONS,
  validate: (section, p) => readBmcSpec(section, p),
  create: (id, common, spec) => new BmcMock(id, common, spec),
  driverSection(mock, secretsDir) {
    const bmc = mock as BmcMock
    const user =
      bmc.spec.users.find((u) => u.privilege === Privilege.OPERATOR) ??
      bmc.spec.users.find((u) => u.privilege >= Privilege.OPERATOR) ??
      bmc.spec.users[0]!
    const passwordFile = path.join(secretsDir, `${mock.id}.ipmi-password`)
    writeFileSync(passwordFile, user.password, { mode: 0o600 })
    chmodSync(passwordFile, 0o600)
    const section: Record<string, unknown> = {
      driver: 'ipmi',
      host: bmc.address.host,
      port: bmc.address.port,
      user: user.name,
      passwordFile,
      cipherSuite: bmc.spec.cipherSuites.includes(17) ? 17 : 3,
    }
    if (bmc.spec.kg) {
      const kgFile = path.join(secretsDir, `${mock.id}.ipmi-kg`)
      writeFileSync(kgFile, bmc.spec.kg.toString('hex'), { mode: 0o600 })
      chmodSync(kgFile, 0o600)
      section.kgFile = kgFile
    }
    return section
  },
}
