import {
  WTI_GROUP_COMMANDS,
  WTI_GROUP_TABLES,
  WTI_MAX_GROUPS,
  WTI_PLUG_STATUS,
  WTI_PLUG_TABLE,
  type WtiGroupTable,
  type WtiMibVersion,
} from '../../protocols/wti-mib.js'
import { FenceError } from '../../core/errors.js'
import type { DeviceAction, PowerState } from '../../core/types.js'
import type { Call, DriverContext, PlugInfo, PowerDriver } from '../driver.js'
import { type SnmpTargetConfig, resolveCredentials, warnWeakTarget } from '../snmp/config.js'
import { SnmpClient } from '../snmp/session.js'
import { type RawVarbind, decodePowerState, decodeString, isMissing } from '../snmp/varbind.js'

export interface WtiSnmpConfig {
  target: SnmpTargetConfig
  /** WTI MIB version: 1 (firmware ≤ 1.44) or 3 (≥ 1.62, the default). Never probed. */
  mib: WtiMibVersion
  /** MIB v3: group (number or name, as written) → the plug-table indices of its plugs. */
  groups: ReadonlyMap<string, readonly number[]>
  /** MIB v1: `trusted` takes a GET of the group action column as the state; else status is unknown. */
  groupReadBack: 'unverified' | 'trusted'
}

/** Objects per GET (names, states: small INTEGERs and short strings, well inside one datagram). */
const MAX_VARBINDS_PER_GET = 40

/**
 * WTI MPC-series power switches over SNMP, through their plug groups: a plug of this driver is
 * a group, by number or by name. Group a node's outlets on the unit (as cluster-glue's wti_mpc
 * requires) and one command switches them all.
 *
 * Read-back (design rule 1) depends on the MIB version:
 * - MIB v3: every plug of the group is read from the plug table's plugStatus (0 off, 1 on); the
 *   config lists each group's plugs (the MIB does not say them). The group is on when any plug
 *   reads on, off only when every plug reads off, otherwise unknown.
 * - MIB v1: there is no plug table, and what a GET of the group action column returns is
 *   undocumented. Status reads `unknown` (the device is unverified: config refuses it as a fencing
 *   level) unless `groupReadBack: trusted` is written: then 5 reads on, 6 off, anything else unknown.
 */
export class WtiSnmpDriver implements PowerDriver {
  readonly kind = 'wti-snmp'
  readonly client: SnmpClient
  private readonly table: WtiGroupTable
  private readonly label: string

  constructor(
    private readonly cfg: WtiSnmpConfig,
    ctx: DriverContext,
  ) {
    this.label = `${ctx.deviceId} (${cfg.target.host}:${cfg.target.port})`
    this.client = new SnmpClient({
      target: cfg.target,
      credentials: () => resolveCredentials(cfg.target, ctx),
      label: this.label,
    })
    this.table = WTI_GROUP_TABLES[cfg.mib]
    warnWeakTarget(cfg.target, ctx)
    if (cfg.mib === 1 && cfg.groupReadBack === 'trusted')
      ctx.log(
        'warn',
        "groupReadBack: trusted on WTI MIB v1: a group's state is taken from a GET of its action column (5 on, 6 off), which WTI does not document, and a group holding several plugs reads as one value",
        { device: ctx.deviceId },
      )
    else if (cfg.mib === 1)
      ctx.log(
        'info',
        'WTI MIB v1: plug groups cannot be read back, so this device is unverified (operator power only, never a fencing level)',
        { device: ctx.deviceId },
      )
  }

  /** GET any number of objects, a bounded number per request, answers in order. */
  private async getAll(oids: readonly string[], call: Call): Promise<RawVarbind[]> {
    const out: RawVarbind[] = []
    for (let i = 0; i < oids.length; i += MAX_VARBINDS_PER_GET)
      out.push(...(await this.client.get(oids.slice(i, i + MAX_VARBINDS_PER_GET), call)))
    return out
  }

  /** Group names as the unit lists them: from 1 up to the first empty name (as wti_mpc reads them). */
  private async groups(call: Call): Promise<PlugInfo[]> {
    const out: PlugInfo[] = []
    for (const { index, vb } of await this.client.walk(this.table.names, call)) {
      if (!/^\d+$/.test(index) || Number(index) > WTI_MAX_GROUPS) continue
      const name = decodeString(vb)
      if (!name.ok || name.value === '') break
      out.push({ id: index, name: name.value })
    }
    return out
  }

  private async indices(plugs: readonly string[], call: Call): Promise<Map<string, string>> {
    const out = new Map<string, string>()
    const named = plugs.filter((p) => {
      if (!/^\d{1,3}$/.test(p) || Number(p) < 1) return true
      out.set(p, String(Number(p)))
      return false
    })
    if (named.length === 0) return out
    const groups = await this.groups(call)
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
    return this.groups(call)
  }

  /** MIB v3: the plug-table indices the config lists for group `g` (by its number, else its name). */
  private plugsOf(g: string, name: string): readonly number[] {
    const byNumber = this.cfg.groups.get(g)
    if (byNumber) return byNumber
    const exact = this.cfg.groups.get(name)
    if (exact) return exact
    const hits = [...this.cfg.groups].filter(([k]) => k.toLowerCase() === name.toLowerCase())
    if (hits.length === 1) return hits[0]![1]
    throw new FenceError(
      'CONFIG_INVALID',
      `${this.label}: plug group ${g} ('${name}') has no plugs listed under groups: in the device config; on MIB v3 every plug of a group is read back, and the MIB does not say which they are`,
    )
  }

  async status(plugs: readonly string[], call: Call): Promise<Map<string, PowerState>> {
    const idx = await this.indices(plugs, call)
    const groups = [...new Set(idx.values())]
    const byGroup =
      this.cfg.mib === 3 ? await this.readByPlug(groups, call) : await this.readByGroup(groups, call)
    return new Map(plugs.map((p) => [p, byGroup.get(idx.get(p)!) ?? 'unknown']))
  }

  /**
   * GET the groups' names and `extra` objects in one go. An undefined group (no such row, or an
   * empty name) is NO_SUCH_PLUG, never a state.
   */
  private async namesAnd(
    groups: readonly string[],
    extra: readonly string[],
    call: Call,
  ): Promise<{ names: Map<string, string>; extra: RawVarbind[] }> {
    const nameOids = groups.map((g) => `${this.table.names}.${g}`)
    const vbs = await this.getAll([...nameOids, ...extra], call)
    const names = new Map<string, string>()
    groups.forEach((g, j) => {
      const name = decodeString(vbs[j]!, nameOids[j])
      if (isMissing(name))
        throw new FenceError(
          'NO_SUCH_PLUG',
          `${this.label}: the unit has no plug group ${g} in the MIB v${this.cfg.mib} group table`,
        )
      if (name.ok && name.value === '')
        throw new FenceError('NO_SUCH_PLUG', `${this.label}: plug group ${g} is not defined (empty name)`)
      names.set(g, name.ok ? name.value : '')
    })
    return { names, extra: vbs.slice(nameOids.length) }
  }

  /** MIB v1: `unknown` (the group exists, nothing more is known) unless the action column is trusted. */
  private async readByGroup(groups: readonly string[], call: Call): Promise<Map<string, PowerState>> {
    const trusted = this.cfg.groupReadBack === 'trusted'
    const control = trusted ? groups.map((g) => `${this.table.control}.${g}`) : []
    const { extra } = await this.namesAnd(groups, control, call)
    return new Map(
      groups.map((g, j): [string, PowerState] => {
        if (!trusted) return [g, 'unknown']
        const state = decodePowerState(extra[j]!, WTI_GROUP_COMMANDS, control[j])
        if ('missing' in state)
          throw new FenceError('NO_SUCH_PLUG', `${this.label}: the unit has no plug group ${g}`)
        return [g, state.state]
      }),
    )
  }

  /**
   * MIB v3: plugStatus of every plug of each group. Plugs of groups the config lists by number
   * go with the names' GET; those of groups it lists by name, in a second GET once the names
   * are known.
   */
  private async readByPlug(groups: readonly string[], call: Call): Promise<Map<string, PowerState>> {
    const statusOid = (p: number) => `${WTI_PLUG_TABLE.status}.${p}`
    const first = [...new Set(groups.flatMap((g) => this.cfg.groups.get(g) ?? []))]
    const { names, extra } = await this.namesAnd(groups, first.map(statusOid), call)
    const members = new Map(groups.map((g) => [g, this.plugsOf(g, names.get(g)!)]))
    const answers = new Map<number, RawVarbind>(first.map((p, j) => [p, extra[j]!]))
    const rest = [...new Set([...members.values()].flat())].filter((p) => !answers.has(p))
    if (rest.length) {
      const vbs = await this.getAll(rest.map(statusOid), call)
      for (const [j, p] of rest.entries()) answers.set(p, vbs[j]!)
    }
    return new Map(
      groups.map((g) => [
        g,
        groupState(
          members.get(g)!.map((p) => {
            const state = decodePowerState(answers.get(p)!, WTI_PLUG_STATUS, statusOid(p))
            if ('missing' in state)
              throw new FenceError(
                'NO_SUCH_PLUG',
                `${this.label}: the unit has no plug ${p} in its plug table (listed for group ${g} under groups:)`,
              )
            return state.state
          }),
        ),
      ]),
    )
  }

  async set(plug: string, action: DeviceAction, call: Call): Promise<void> {
    const g = (await this.indices([plug], call)).get(plug)!
    const value = action === 'cycle' ? WTI_GROUP_COMMANDS.reboot : WTI_GROUP_COMMANDS[action]
    await this.client.set([{ oid: `${this.table.control}.${g}`, type: 'int', value }], call)
  }

  async close(): Promise<void> {
    await this.client.close()
  }
}

/** A group of plugs (design rule 5): on when any plug is on, off when every one is off, else unknown. */
export function groupState(plugs: readonly PowerState[]): PowerState {
  if (plugs.some((s) => s === 'on')) return 'on'
  if (plugs.length > 0 && plugs.every((s) => s === 'off')) return 'off'
  return 'unknown'
}
