import { chmodSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { MockFactory } from '../mock.js'
import { DracSshMock } from './mock.js'
import { DRAC_LAB_OPTIONS, type DracSpec, readDracSpec } from './spec.js'

export const dracSshMock: MockFactory<DracSpec> = {
  kind: 'drac-ssh',
  driver: 'drac-ssh',
  description: 'a Dell DRAC 5 or CMC behind SSH speaking racadm serveraction; fence_drac5 --ssh drives it',
  endpoint: 'network',
  options: DRAC_LAB_OPTIONS,
  validate: (section, p, common) => readDracSpec(section, p, common),
  create: (id, common, spec) => new DracSshMock(id, common, spec),
  driverSection(mock, secretsDir) {
    const m = mock as DracSshMock
    const user = m.spec.users.find((u) => u.password !== undefined) ?? m.spec.users[0]!
    const section: Record<string, unknown> = {
      driver: 'drac-ssh',
      host: m.address.host,
      port: m.address.port,
      user: user.name,
      model: m.spec.model,
      hostKey: m.hostKeyFingerprint,
    }
    if (user.password !== undefined) {
      const passwordFile = path.join(secretsDir, `${mock.id}.drac-password`)
      writeFileSync(passwordFile, user.password, { mode: 0o600 })
      chmodSync(passwordFile, 0o600)
      section.passwordFile = passwordFile
    }
    return section
  },
}
