import { WTI_MAX_GROUPS } from '../../protocols/wti-mib.js'
import { Fields, describe } from '../../src/config/fields.js'
import { asMapping } from '../../src/config/yaml.js'
import { readSnmpLab, snmpDriverFields } from '../apc-pdu/snmp-lab.js'
import type { MockFactory } from '../mock.js'
import { WtiPduMock, type WtiPduSpec } from './mock.js'

const COMMON = ['kind', 'listen', 'plugs', 'transitionDelay', 'initial']

/** The plug ids a lab section declares (for checking groups), or undefined for a count. */
function labPlugIds(section: Record<string, unknown>): string[] {
  if (Array.isArray(section.plugs))
    return section.plugs.map((p) =>
      String(typeof p === 'object' && p !== null ? (p as { id?: unknown }).id : p),
    )
  const n = typeof section.plugs === 'number' ? section.plugs : 8
  return Array.from({ length: n }, (_, i) => String(i + 1))
}

export const wtiPduMock: MockFactory<WtiPduSpec> = {
  kind: 'wti-pdu',
  driver: 'wti-snmp',
  description: 'a WTI MPC power switch as an SNMP agent (plug groups, WTI MIB v1 or v3 with its plug table)',
  validate(section, path) {
    const f = new Fields(section, path)
    const mib = f.oneOf('mib', ['1', '3'] as const, '3')
    const { access, problems } = readSnmpLab(section, path)
    f.mark('snmp', 'groups')
    const groupSlots = f.int('groupSlots', { default: 16, min: 1, max: WTI_MAX_GROUPS - 1 })
    const sysName = f.optStr('sysName')
    const spec: WtiPduSpec = { mib: Number(mib) as 1 | 3, access, groupSlots }
    if (sysName) spec.sysName = sysName
    if (section.groups !== undefined) {
      const g = asMapping(section.groups)
      const known = new Set(labPlugIds(section))
      if (!g)
        f.problems.push({
          path: [...path, 'groups'],
          message: `expected a mapping of group name to plugs, got ${describe(section.groups)}`,
        })
      spec.groups = Object.entries(g ?? {}).map(([name, plugs]) => {
        const list = (Array.isArray(plugs) ? plugs : [plugs]).map(String)
        for (const p of list)
          if (!known.has(p))
            f.problems.push({ path: [...path, 'groups', name], message: `no plug '${p}' in this device` })
        return { name, plugs: list }
      })
      if (spec.groups.length >= WTI_MAX_GROUPS)
        f.problems.push({ path: [...path, 'groups'], message: `at most ${WTI_MAX_GROUPS - 1} groups` })
    }
    f.noOthers(COMMON)
    return { spec, problems: [...f.problems, ...problems] }
  },
  create: (id, common, spec) => new WtiPduMock(id, common, spec),
  driverSection(mock, secretsDir) {
    const m = mock as WtiPduMock
    const { host, port } = m.address
    // MIB v3: the plugs of each defined group, by plug-table index (the MIB does not say them).
    // MIB v1: no groupReadBack: trusted here — that is the user's assertion to write, not the lab's

    const groups = Object.fromEntries(
      m.groups.filter((g) => g.plugs.length > 0).map((g) => [String(g.index), m.plugIndices(g)]),
    )
    return {
      driver: 'wti-snmp',
      host,
      port,
      mib: String(m.spec.mib),
      ...(m.spec.mib === 3 ? { groups } : {}),
      ...snmpDriverFields(m.id, m.spec.access, secretsDir),
    }
  },
}
