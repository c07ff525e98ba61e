import { chmodSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { MockFactory } from '../mock.js'
import { RedfishMock } from './mock.js'
import { REDFISH_LAB_OPTIONS, type RedfishSpec, readRedfishSpec } from './spec.js'

export const redfishMock: MockFactory<RedfishSpec> = {
  kind: 'redfish',
  driver: 'redfish',
  description:
    'an iDRAC-flavoured Redfish service over HTTPS (self-signed certificate made at start); fence_redfish and redfishtool drive it',
  endpoint: 'network',
  // its plugs are its systems (`systems: N`): `plugs` is refused
  singlePlug: { id: 'system', noun: 'a Redfish service (more systems: systems: N)' },
  options: REDFISH_LAB_OPTIONS,
  validate: (section, p) => readRedfishSpec(section, p),
  create: (id, common, spec) => new RedfishMock(id, common, spec),
  driverSection(mock, secretsDir) {
    const rf = mock as RedfishMock
    const user =
      rf.spec.users.find((u) => u.role === 'Operator') ??
      rf.spec.users.find((u) => u.role === 'Administrator') ??
      rf.spec.users[0]!
    const passwordFile = path.join(secretsDir, `${mock.id}.redfish-password`)
    writeFileSync(passwordFile, user.password, { mode: 0o600 })
    chmodSync(passwordFile, 0o600)
    const section: Record<string, unknown> = {
      driver: 'redfish',
      host: rf.address.host,
      port: rf.address.port,
      user: user.name,
      passwordFile,
      fingerprint: rf.fingerprint,
    }
    if (rf.spec.systems > 1) section.systemPath = rf.systemPath(1)
    return section
  },
}
