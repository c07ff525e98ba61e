import { WTI_MAX_GROUPS } from '../../protocols/wti-mib.js'
import { Type } from 'typebox'
import { Fields, describe } from '../../core/fields.js'
import { Opt, readOptions } from '../../core/options.js'
import { asMapping } from '../../core/yaml.js'
import { SNMP_LAB_OPTION, snmpDriverFields } from '../snmp/lab-section.js'
import type { CommonLabSpec, MockFactory } from '../mock.js'
import { WtiPduMock, type WtiPduSpec } from './mock.js'

/** The plug ids of a lab device (for checking groups). */
function labPlugIds(common: CommonLabSpec): string[] {
  if (Array.isArray(common.plugs)) return common.plugs.map((p) => p.id)
  return Array.from({ length: common.plugs }, (_, i) => String(i + 1))
}

/** The own fields of a `kind: wti-pdu` lab device. */
export const WTI_PDU_LAB_OPTIONS = {
  mib: Opt.oneOf(['1', '3'], 'the WTI MIB the unit speaks (firmware up to 1.44: 1; from 1.62: 3)', {
    default: '3',
  }),
  snmp: SNMP_LAB_OPTION,
  groups: Opt.custom<unknown>(
    Type.Record(Type.String(), Type.Array(Type.String())),
    'plug groups: group name to the plugs it switches',
    {
      type: 'mapping of name to plugs',
      defaultText: 'one group per plug',
      read: (f, name) => f.section[name],
    },
  ),
  groupSlots: Opt.int('the group table size the unit reports', {
    default: 16,
    min: 1,
    max: WTI_MAX_GROUPS - 1,
  }),
  sysName: Opt.optionalString("the unit's sysName"),
}

export const wtiPduMock: MockFactory<WtiPduSpec> = {
  kind: 'wti-pdu',
  driver: 'wti-snmp',
  description: 'a WTI MPC power switch as an SNMP agent (plug groups, WTI MIB v1 or v3 with its plug table)',
  endpoint: 'network',
  options: WTI_PDU_LAB_OPTIONS,
  validate(section, path, common) {
    const f = new Fields(section, path)
    const { mib, snmp: access, groupSlots, sysName } = readOptions(f, WTI_PDU_LAB_OPTIONS)
    // groups name plugs: checked here, against the plugs the lab read
    const spec: WtiPduSpec = { mib: Number(mib) as 1 | 3, access, groupSlots }
    if (sysName) spec.sysName = sysName
    if (section.groups !== undefined) {
      const g = asMapping(section.groups)
      const known = new Set(labPlugIds(common))
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
    f.noOthers()
    return { spec, problems: f.problems }
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
