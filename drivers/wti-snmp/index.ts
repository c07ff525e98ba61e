import { Type } from 'typebox'
import { WTI_MAX_GROUPS, WTI_MAX_PLUG_INDEX, type WtiMibVersion } from '../../protocols/wti-mib.js'
import { Fields, describe } from '../../core/fields.js'
import { Opt, readOptions } from '../../core/options.js'
import { asMapping } from '../../core/yaml.js'
import type { DriverFactory, FieldProblem } from '../driver.js'
import { SNMP_OPTIONS, readSnmpTarget } from '../snmp/config.js'
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
 * The wti-snmp driver's config section: the SNMP options, the MIB and how groups are read back.
 * What can be read back depends on the MIB version, so it is never probed: on MIB v3 each group
 * is read plug by plug (`groups` says which plugs, the MIB does not); on MIB v1 a group cannot be
 * read back, unless the user writes `groupReadBack: trusted` (the group action column's GET,
 * undocumented, taken as 5 on, 6 off).
 */
export const WTI_SNMP_OPTIONS = {
  ...SNMP_OPTIONS,
  mib: Opt.custom<WtiMibVersion>(
    Type.Union([Type.Literal('1'), Type.Literal('3')]),
    'the WTI MIB version: 3 for firmware 1.62 and later, 1 up to 1.44 (never probed: it decides whether groups can be read back)',
    {
      type: '`1`, `3`',
      defaultText: '`3`',
      read: (f, name) => {
        if (f.section[name] !== 'auto')
          return Number(f.oneOf(name, ['1', '3'] as const, '3')) as WtiMibVersion
        f.problems.push({
          path: [...f.base, name],
          message:
            'auto is not accepted: whether a group can be read back depends on the MIB version. Write 3 (firmware 1.62 and later, the default) or 1 (firmware up to 1.44)',
        })
        return 3
      },
    },
  ),
  groups: Opt.custom<Map<string, number[]>>(
    Type.Record(Type.String(), Type.Array(Type.Integer({ minimum: 0, maximum: WTI_MAX_PLUG_INDEX }))),
    "MIB v3: each group's plugs by the unit's plug-table numbers (`web1: [1, 2]`); the MIB does not say which plugs a group holds",
    {
      type: 'mapping of group to plug numbers',
      defaultText: 'required with mib 3',
      read: (f, name) => {
        const mib3 = String(f.section.mib) !== '1'
        if (mib3 && f.has(name)) return readGroups(f.section[name], f.problems)
        if (mib3)
          f.problems.push({
            path: [...f.base, name],
            message:
              "required with mib: 3: each group's plugs, by the unit's plug-table numbers (web1: [1, 2]). The WTI MIB does not say which plugs a group holds, and a read-back reads every one of them",
          })
        else if (f.has(name))
          f.problems.push({
            path: [...f.base, name],
            message: 'only with mib: 3 (MIB v1 has no per-plug table)',
          })
        return new Map()
      },
    },
  ),
  groupReadBack: Opt.custom<'unverified' | 'trusted'>(
    Type.Union([Type.Literal('unverified'), Type.Literal('trusted')]),
    'MIB v1: `trusted` takes a GET of the group action column as the state (undocumented; warned at start); otherwise the device is unverified',
    {
      type: '`unverified`, `trusted`',
      defaultText: '`unverified`',
      read: (f, name) => {
        const v = f.oneOf(name, ['unverified', 'trusted'] as const, 'unverified')
        if (String(f.section.mib) !== '1' && f.has(name))
          f.problems.push({
            path: [...f.base, name],
            message: 'only with mib: 1 — on MIB v3 every plug of a group is read back from plugStatus',
          })
        return v
      },
    },
  ),
}

export const wtiSnmpDriver: DriverFactory<WtiSnmpConfig> = {
  kind: 'wti-snmp',
  description:
    'WTI MPC-series power switches over SNMP (plug groups; MIB v3 read back per plug, MIB v1 unverified unless trusted)',
  verifies: (c) => c.mib === 3 || c.groupReadBack === 'trusted',
  options: WTI_SNMP_OPTIONS,
  validate(section) {
    const f = new Fields(section)
    const target = readSnmpTarget(f, { defaultVersion: '1' })
    const { mib, groups, groupReadBack } = readOptions(f, {
      mib: WTI_SNMP_OPTIONS.mib,
      groupReadBack: WTI_SNMP_OPTIONS.groupReadBack,
      groups: WTI_SNMP_OPTIONS.groups,
    })
    f.noOthers()
    return { config: { target, mib, groups, groupReadBack }, problems: f.problems }
  },
  create: (config, ctx) => new WtiSnmpDriver(config, ctx),
}
