import {
  WTI_GROUP_COMMANDS,
  WTI_GROUP_TABLES,
  WTI_MAX_GROUPS,
  type WtiGroupTable,
  type WtiMibVersion,
} from '../../protocols/wti-mib.js'
import { FenceError } from '../../src/core/errors.js'
import type { DeviceAction, PowerState } from '../../src/core/types.js'
import type { Call, DriverContext, PlugInfo, PowerDriver } from '../driver.js'
import { type SnmpTargetConfig, resolveCredentials, warnWeakTarget } from '../snmp/config.js'
import { SnmpClient } from '../snmp/session.js'
import { decodePowerState, decodeString, isMissing, oidSuffix } from '../snmp/varbind.js'

export interface WtiSnmpConfig {
  target: SnmpTargetConfig
  /** WTI MIB version: 1 (firmware ≤ 1.44), 3 (≥ 1.62), or auto (probed once). */
  mib: 'auto' | WtiMibVersion
}

/** Groups per GET (two objects each). */
const MAX_GROUPS_PER_GET = 20

/**
 * WTI MPC-series power switches over SNMP, through their plug groups (the part of the WTI MIB
 * the reference documents): a plug of this driver is a group, by number or by name. Group a
 * node's outlets on the unit (as cluster-glue's wti_mpc requires) and one command switches
 * them all. Status reads the group's control object: 5 on, 6 off, anything else unknown.
 */
export class WtiSnmpDriver implements PowerDriver {
  readonly kind = 'wti-snmp'
  readonly client: SnmpClient
  private table: WtiGroupTable | undefined
  private readonly label: string

  constructor(cfg: WtiSnmpConfig, ctx: DriverContext) {
    this.label = `${ctx.deviceId} (${cfg.target.host}:${cfg.target.port})`
    this.client = new SnmpClient({
      target: cfg.target,
      credentials: () => resolveCredentials(cfg.target, ctx),
      label: this.label,
    })
    if (cfg.mib !== 'auto') this.table = WTI_GROUP_TABLES[cfg.mib]
    warnWeakTarget(cfg.target, ctx)
  }

  /** Which group table the unit has: one GETNEXT into both places, v3 preferred. */
  async groupTable(call: Call): Promise<WtiGroupTable> {
    if (this.table) return this.table
    const candidates = [WTI_GROUP_TABLES[3], WTI_GROUP_TABLES[1]]
    const vbs = await this.client.getNext(
      candidates.map((t) => t.names),
      call,
    )
    const found = candidates.find(
      (t, i) => typeof vbs[i]?.oid === 'string' && oidSuffix(vbs[i]!.oid as string, t.names) !== undefined,
    )
    if (!found)
      throw new FenceError(
        'DEVICE_ERROR',
        `${this.label}: no WTI plug-group table (MIB v1 or v3) on this agent; set mib: 1 or 3 if it is a WTI MPC`,
      )
    this.table = found
    return found
  }

  /** Group names as the unit lists them: from 1 up to the first empty name (as wti_mpc reads them). */
  private async groups(t: WtiGroupTable, call: Call): Promise<PlugInfo[]> {
    const out: PlugInfo[] = []
    for (const { index, vb } of await this.client.walk(t.names, call)) {
      if (!/^\d+$/.test(index) || Number(index) > WTI_MAX_GROUPS) continue
      const name = decodeString(vb)
      if (!name.ok || name.value === '') break
      out.push({ id: index, name: name.value })
    }
    return out
  }

  private async indices(
    t: WtiGroupTable,
    plugs: readonly string[],
    call: Call,
  ): Promise<Map<string, string>> {
    const out = new Map<string, string>()
    const named = plugs.filter((p) => {
      if (!/^\d{1,3}$/.test(p) || Number(p) < 1) return true
      out.set(p, String(Number(p)))
      return false
    })
    if (named.length === 0) return out
    const groups = await this.groups(t, call)
    for (const p of named) {
      // the unit keeps names unique ignoring case; cluster-glue compares with strcasecmp
      const hits = groups.filter((g) => g.name === p || g.name?.toLowerCase() === p.toLowerCase())
      const exact = hits.filter((g) => g.name === p)
      const hit = exact.length === 1 ? exact[0] : hits.length === 1 ? hits[0] : undefined
      if (!hit)
        throw new FenceError(
          'NO_SUCH_PLUG',
          hits.length > 1
            ? `${this.label}: several plug groups are named '${p}': use their numbers`
            : `${this.label}: no plug group numbered or named '${p}'`,
        )
      out.set(p, hit.id)
    }
    return out
  }

  async plugs(call: Call): Promise<PlugInfo[]> {
    return this.groups(await this.groupTable(call), call)
  }

  async status(plugs: readonly string[], call: Call): Promise<Map<string, PowerState>> {
    const t = await this.groupTable(call)
    const idx = await this.indices(t, plugs, call)
    const unique = [...new Set(idx.values())]
    const byGroup = new Map<string, PowerState>()
    for (let i = 0; i < unique.length; i += MAX_GROUPS_PER_GET) {
      const part = unique.slice(i, i + MAX_GROUPS_PER_GET)
      // name and state together: an undefined group (empty name) is an error, not a state
      const oids = part.flatMap((g) => [`${t.names}.${g}`, `${t.control}.${g}`])
      const vbs = await this.client.get(oids, call)
      part.forEach((g, j) => {
        const name = decodeString(vbs[2 * j]!, oids[2 * j])
        const state = decodePowerState(vbs[2 * j + 1]!, WTI_GROUP_COMMANDS, oids[2 * j + 1])
        if ('missing' in state || isMissing(name))
          throw new FenceError('NO_SUCH_PLUG', `${this.label}: the unit has no plug group ${g}`)
        if (name.ok && name.value === '')
          throw new FenceError('NO_SUCH_PLUG', `${this.label}: plug group ${g} is not defined (empty name)`)
        byGroup.set(g, state.state)
      })
    }
    return new Map(plugs.map((p) => [p, byGroup.get(idx.get(p)!) ?? 'unknown']))
  }

  async set(plug: string, action: DeviceAction, call: Call): Promise<void> {
    const t = await this.groupTable(call)
    const g = (await this.indices(t, [plug], call)).get(plug)!
    const value = action === 'cycle' ? WTI_GROUP_COMMANDS.reboot : WTI_GROUP_COMMANDS[action]
    await this.client.set([{ oid: `${t.control}.${g}`, type: 'int', value }], call)
  }

  async close(): Promise<void> {
    await this.client.close()
  }
}
