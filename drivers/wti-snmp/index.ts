import { WTI_MAX_GROUPS, WTI_MAX_PLUG_INDEX, type WtiMibVersion } from '../../protocols/wti-mib.js'
import { Fields, describe } from '../../src/config/fields.js'
import { asMapping } from '../../src/config/yaml.js'
import type { DriverFactory, FieldProblem } from '../driver.js'
import { readSnmpTarget } from '../transport/snmp-config.js'
import { WtiSnmpDriver, type WtiSnmpConfig } from './driver.js'

/** `groups:` — group (number or name) → the plug-table indices of its plugs (MIB v3). */
function readGroups(raw: unknown, problems: FieldProblem[]): Map<string, number[]> {
  const out = new Map<string, number[]>()
  const g = asMapping(raw)
  if (!g || Object.keys(g).length === 0) {
    problems.push({
      path: ['groups'],
      message: `expected a mapping of group (number or name) to its plugs' numbers, got ${describe(raw)}`,
    })
    return out
  }
  for (const [key, plugs] of Object.entries(g)) {
    const list = Array.isArray(plugs) ? plugs : [plugs]
    const bad = list.filter(
      (p) => typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p > WTI_MAX_PLUG_INDEX,
    )
    if (list.length === 0 || bad.length > 0) {
      problems.push({
        path: ['groups', key],
        message: `expected plug numbers of the unit's plug table (0 to ${WTI_MAX_PLUG_INDEX}), got ${describe(plugs)}`,
      })
      continue
    }
    const numbered = /^\d+$/.test(key)
    if (numbered && (Number(key) < 1 || Number(key) > WTI_MAX_GROUPS))
      problems.push({ path: ['groups', key], message: `group numbers are 1 to ${WTI_MAX_GROUPS}` })
    // a number as the driver's plug ids give it (`02` is group 2); a name as written
    out.set(numbered ? String(Number(key)) : key, [...new Set(list as number[])])
  }
  return out
}

/**
 * The whole of this driver's config reading. What can be read back depends on the MIB
 * version, so it is never probed: on MIB v3 each group is read plug by plug (`groups` says
 * which plugs, the MIB does not); on MIB v1 a group cannot be read back, unless the user
 * writes `groupReadBack: trusted` (the group action column's GET, undocumented, taken as 5 on,
 * 6 off).
 */
export const wtiSnmpDriver: DriverFactory<WtiSnmpConfig> = {
  kind: 'wti-snmp',
  description:
    'WTI MPC-series power switches over SNMP (plug groups; MIB v3 read back per plug, MIB v1 unverified unless trusted)',
  deviceCycleAllowed: (c) => c.deviceCycle,
  verifies: (c) => c.mib === 3 || c.groupReadBack === 'trusted',
  validate(section) {
    const f = new Fields(section)
    const target = readSnmpTarget(f, { defaultVersion: '1' })
    const problems = f.problems
    let mib: WtiMibVersion = 3
    if (section.mib === 'auto') {
      f.mark('mib')
      problems.push({
        path: ['mib'],
        message:
          'auto is not accepted: whether a group can be read back depends on the MIB version. Write 3 (firmware 1.62 and later, the default) or 1 (firmware up to 1.44)',
      })
    } else mib = Number(f.oneOf('mib', ['1', '3'] as const, '3')) as WtiMibVersion
    const groupReadBack = f.oneOf('groupReadBack', ['unverified', 'trusted'] as const, 'unverified')
    if (mib === 3 && f.has('groupReadBack'))
      problems.push({
        path: ['groupReadBack'],
        message: 'only with mib: 1 — on MIB v3 every plug of a group is read back from plugStatus',
      })
    f.mark('groups')
    let groups = new Map<string, number[]>()
    if (mib === 3) {
      if (f.has('groups')) groups = readGroups(section.groups, problems)
      else
        problems.push({
          path: ['groups'],
          message:
            "required with mib: 3: each group's plugs, by the unit's plug-table numbers (web1: [1, 2]). The WTI MIB does not say which plugs a group holds, and a read-back reads every one of them",
        })
    } else if (f.has('groups'))
      problems.push({ path: ['groups'], message: 'only with mib: 3 (MIB v1 has no per-plug table)' })
    const deviceCycle = f.bool('deviceCycle', false)
    f.noOthers()
    const config: WtiSnmpConfig = { target, mib, groups, groupReadBack, deviceCycle }
    return { config, problems }
  },
  create: (config, ctx) => new WtiSnmpDriver(config, ctx),
}
