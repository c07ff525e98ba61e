import {
  GROUP_STATE_MIXED,
  WTI_GROUP_COMMANDS,
  WTI_GROUP_TABLES,
  WTI_MOCK_SYS_OBJECT_ID,
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
}

/**
 * A WTI MPC-series switch as an SNMP agent: the plug-group table of WTI MIB v1 or v3 (name,
 * control: SET 5 on, 6 off, 7 reboot; GET 5/6 when the group's plugs agree), the system group
 * with sysName, v1/v2c communities and v3 users. Groups switch the simulator's plugs.
 */
export class WtiPduMock implements MockDevice {
  readonly kind = 'wti-pdu'
  readonly sim: DeviceSimulator
  readonly groups: GroupRow[]
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
    }))
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
              get: (g) => this.groupState(g),
              enumeration: Object.values(WTI_GROUP_COMMANDS),
              write: {
                // an undefined group (empty slot) switches nothing: the unit refuses
                check: (g) => (g.plugs.length === 0 ? 'InconsistentValue' : undefined),
                set: (g, v) => {
                  const action =
                    v === WTI_GROUP_COMMANDS.on ? 'on' : v === WTI_GROUP_COMMANDS.off ? 'off' : 'cycle'
                  for (const p of g.plugs) this.sim.command(p, action)
                },
              },
            },
          ],
        })
      },
    })
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
