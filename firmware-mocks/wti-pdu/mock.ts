import {
  GROUP_STATE_MIXED,
  WTI_GROUP_COMMANDS,
  WTI_GROUP_TABLES,
  WTI_MOCK_SYS_OBJECT_ID,
  WTI_PLUG_STATUS,
  WTI_PLUG_TABLE,
  type WtiMibVersion,
} from '../../protocols/wti-mib.js'
import { registerScalar, registerTable, systemScalars } from '../snmp/mib-tables.js'
import { type AgentAccess, SnmpAgentHost } from '../snmp/agent.js'
import { snmpAccessInfo } from '../snmp/lab-section.js'
import type { CommonLabSpec, MockDevice } from '../mock.js'
import { DeviceSimulator } from '../simulator.js'

export interface WtiPduSpec {
  mib: WtiMibVersion
  access: AgentAccess
  /** Plug groups by name (a node's uname) → plugs; default: one group per plug, named like it. */
  groups?: { name: string; plugs: string[] }[]
  /** Rows of the group table (unused ones have an empty name, where wti_mpc stops reading). */
  groupSlots: number
  sysName?: string
}

interface GroupRow {
  index: number
  name: string
  plugs: string[]
  /** MIB v3: the last action value written to the row (0: none yet). */
  lastAction: number
}

interface PlugRow {
  /** plugIndex: the outlet's position, from 1. */
  index: number
  /** The simulator's outlet id. */
  plug: string
}

/**
 * A WTI MPC-series switch as an SNMP agent: the plug-group table of WTI MIB v1 or v3 (name,
 * action: SET 5 on, 6 off, 7 reboot), on MIB v3 the per-plug table (plugID, plugStatus 0/1,
 * plugName — the simulator's true state of each plug, so a lie shows as the plug staying on),
 * the system group with sysName, v1/v2c communities and v3 users. A group switches each of its
 * plugs in the simulator (transition delays and faults per plug).
 *
 * What a GET of the group action column returns is undocumented. MIB v1 answers 5/6 when the
 * group's plugs agree and GROUP_STATE_MIXED otherwise (what `groupReadBack: trusted` assumes).
 * MIB v3 answers the last action written to the row (0 before any): a plausible reading of a
 * "mark" column, and the dangerous one — after a lie it says 6 while a plug is still on — so a
 * driver that verified a group by its action column on MIB v3 fails the tests.
 */
export class WtiPduMock implements MockDevice {
  readonly kind = 'wti-pdu'
  readonly sim: DeviceSimulator
  readonly groups: GroupRow[]
  /** MIB v3's plug table rows (every outlet, in order). */
  readonly plugRows: PlugRow[]
  private readonly host: SnmpAgentHost
  private readonly bindHost: string

  constructor(
    readonly id: string,
    common: CommonLabSpec,
    readonly spec: WtiPduSpec,
  ) {
    this.sim = new DeviceSimulator({
      plugs: common.plugs,
      transitionDelayMs: common.transitionDelayMs,
      initial: common.initial,
    })
    const defined =
      spec.groups ?? [...this.sim.outlets.values()].map((o) => ({ name: o.name, plugs: [o.id] }))
    const slots = Math.max(spec.groupSlots, defined.length + 1)
    this.groups = Array.from({ length: slots }, (_, i) => ({
      index: i + 1,
      name: defined[i]?.name ?? '',
      plugs: defined[i]?.plugs ?? [],
      lastAction: 0,
    }))
    this.plugRows = this.sim.plugIds().map((plug, i) => ({ index: i + 1, plug }))
    this.bindHost = common.listen?.host ?? '127.0.0.1'
    const table = WTI_GROUP_TABLES[spec.mib]
    const startedAt = Date.now()
    this.host = new SnmpAgentHost({
      host: this.bindHost,
      port: common.listen?.port ?? 0,
      sim: this.sim,
      access: spec.access,
      build: (mib) => {
        for (const s of systemScalars({
          descr: `WTI MPC-8H power control, MIB v${spec.mib} (simulated by fencegate)`,
          objectID: WTI_MOCK_SYS_OBJECT_ID,
          name: spec.sysName ?? id,
          startedAt,
        }))
          registerScalar(mib, s)
        registerTable<GroupRow>(mib, {
          name: `wtiGroupEntry${spec.mib}`,
          entry: table.entry,
          indexColumns: 1,
          rows: this.groups,
          columns: [
            { number: 1, name: 'groupIndex', type: 'int', get: (g) => g.index },
            { number: 2, name: 'groupName', type: 'str', get: (g) => g.name },
            {
              number: 3,
              name: 'groupControl',
              type: 'int',
              get: (g) => (spec.mib === 3 ? g.lastAction : this.groupState(g)),
              enumeration: Object.values(WTI_GROUP_COMMANDS),
              write: {
                // an undefined group (empty slot) switches nothing: the unit refuses
                check: (g) => (g.plugs.length === 0 ? 'InconsistentValue' : undefined),
                set: (g, v) => {
                  g.lastAction = Number(v)
                  const action =
                    v === WTI_GROUP_COMMANDS.on ? 'on' : v === WTI_GROUP_COMMANDS.off ? 'off' : 'cycle'
                  for (const p of g.plugs) this.sim.command(p, action)
                },
              },
            },
          ],
        })
        if (spec.mib === 3)
          registerTable<PlugRow>(mib, {
            name: 'wtiPlugEntry',
            entry: WTI_PLUG_TABLE.entry,
            indexColumns: 1,
            rows: this.plugRows,
            columns: [
              { number: 1, name: 'plugIndex', type: 'int', get: (r) => r.index },
              { number: 2, name: 'plugID', type: 'str', get: (r) => r.plug },
              {
                number: 3,
                name: 'plugStatus',
                type: 'int',
                get: (r) => (this.sim.state(r.plug) === 'on' ? WTI_PLUG_STATUS.on : WTI_PLUG_STATUS.off),
              },
              // plugAction (column 4) is not served: the driver switches groups only
              { number: 5, name: 'plugName', type: 'str', get: (r) => this.sim.outlet(r.plug).name },
            ],
          })
      },
    })
  }

  /** MIB v3: the plug-table indices of a group's plugs (what a device config lists under groups). */
  plugIndices(g: { plugs: readonly string[] }): number[] {
    return g.plugs.map((p) => this.plugRows.find((r) => r.plug === p)!.index)
  }

  private groupState(g: GroupRow): number {
    if (g.plugs.length === 0) return GROUP_STATE_MIXED
    const states = new Set(g.plugs.map((p) => this.sim.state(p)))
    if (states.size !== 1) return GROUP_STATE_MIXED
    return states.has('on') ? WTI_GROUP_COMMANDS.on : WTI_GROUP_COMMANDS.off
  }

  get address(): { host: string; port: number } {
    return { host: this.bindHost, port: this.host.port }
  }

  get endpoint(): string {
    return `udp://${this.bindHost}:${this.host.port}`
  }

  start(): Promise<void> {
    return this.host.start()
  }

  async stop(): Promise<void> {
    await this.host.stop()
    this.sim.close()
  }

  info(): Record<string, unknown> {
    return {
      mib: this.spec.mib,
      groups: this.groups
        .filter((g) => g.name)
        .map((g) => ({ index: g.index, name: g.name, plugs: g.plugs })),
      snmp: snmpAccessInfo(this.spec.access),
    }
  }
}
