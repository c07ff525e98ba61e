import { APC_FAMILY_MIBS, APC_FAMILY_SYS_OBJECT_ID, type ApcFamily } from '../../protocols/apc-mib.js'
import type { CommonLabSpec, MockDevice } from '../mock.js'
import { DeviceSimulator } from '../simulator.js'
import { LAYOUTS } from './layouts.js'
import { type TableDef, registerScalar, registerTable, systemScalars } from '../snmp/mib-tables.js'
import { APC_MODELS } from './models.js'
import { type AgentAccess, SnmpAgentHost } from '../snmp/agent.js'
import { snmpAccessInfo } from '../snmp/lab-section.js'
import type { OutletRow, Unit } from './unit.js'

export interface ApcPduSpec {
  model: ApcFamily
  access: AgentAccess
  /** A faulty firmware: the outlet count the unit reports instead of the real one. */
  reportedOutlets?: number
  /** Off time of the unit's reboot in the lab (default: each outlet's reboot duration). */
  cycleOffMs?: number
  /** Initial per-outlet delays, seconds (as the MIB writes them). */
  powerOnTime: number
  powerOffTime: number
  rebootDuration: number
  sysName?: string
}

/** MasterSwitch Plus outlets are `switch:outlet`; a bare number is on switch 1. */
export function apcOutletId(model: ApcFamily, id: string): string {
  return APC_FAMILY_MIBS[model].switched && /^\d+$/.test(id) ? `1:${id}` : id
}

/**
 * An APC PDU as a real SNMP agent: the model's sysObjectID and identity, its outlet tables
 * with live state, pending flags, immediate and delayed commands, writable names and delays,
 * v1/v2c communities and v3 users from the lab. The shared faults apply per datagram.
 */
export class ApcPduMock implements MockDevice {
  readonly kind = 'apc-pdu'
  readonly sim: DeviceSimulator
  readonly unit: Unit
  private readonly host: SnmpAgentHost
  private readonly bindHost: string

  constructor(
    readonly id: string,
    common: CommonLabSpec,
    readonly spec: ApcPduSpec,
  ) {
    const plugs =
      typeof common.plugs === 'number'
        ? Array.from({ length: common.plugs }, (_, i) => ({ id: apcOutletId(spec.model, String(i + 1)) }))
        : common.plugs.map((p) => ({ ...p, id: apcOutletId(spec.model, p.id) }))
    this.sim = new DeviceSimulator({
      plugs,
      transitionDelayMs: common.transitionDelayMs,
      initial: common.initial,
    })
    const defaults = APC_MODELS[spec.model]
    const serial = `FG${id
      .replace(/[^A-Za-z0-9]/g, '')
      .toUpperCase()
      .slice(0, 8)
      .padEnd(8, '0')}`
    const rows: OutletRow[] = this.sim.plugIds().map((pid) => ({
      id: pid,
      index: pid.includes(':') ? [Number(pid.split(':')[0]), 1, Number(pid.split(':')[1])] : [Number(pid)],
      powerOnTime: spec.powerOnTime,
      powerOffTime: spec.powerOffTime,
      rebootDuration: spec.rebootDuration,
    }))
    this.unit = {
      family: APC_FAMILY_MIBS[spec.model],
      sim: this.sim,
      rows,
      ident: {
        model: defaults.model,
        firmware: defaults.firmware,
        hardware: defaults.hardware,
        serial,
        name: spec.sysName ?? id,
        sysDescr: defaults.describe(serial),
      },
      reportedOutlets: spec.reportedOutlets ?? rows.length,
      ...(spec.cycleOffMs !== undefined ? { cycleOffMs: spec.cycleOffMs } : {}),
    }
    this.bindHost = common.listen?.host ?? '127.0.0.1'
    const startedAt = Date.now()
    this.host = new SnmpAgentHost({
      host: this.bindHost,
      port: common.listen?.port ?? 0,
      sim: this.sim,
      access: spec.access,
      build: (mib) => {
        const sys = systemScalars({
          descr: this.unit.ident.sysDescr,
          objectID: APC_FAMILY_SYS_OBJECT_ID[spec.model],
          name: this.unit.ident.name,
          startedAt,
        })
        const layout = LAYOUTS[spec.model](this.unit)
        for (const s of [...sys, ...layout.scalars]) registerScalar(mib, s)
        for (const t of layout.tables) registerTable(mib, t as TableDef<unknown>)
      },
    })
  }

  get address(): { host: string; port: number } {
    return { host: this.bindHost, port: this.host.port }
  }

  get endpoint(): string {
    return `udp://${this.bindHost}:${this.host.port}`
  }

  /** Datagrams the agent received (retransmissions included). */
  get received(): number {
    return this.host.received
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
      model: this.spec.model,
      modelNumber: this.unit.ident.model,
      sysObjectID: APC_FAMILY_SYS_OBJECT_ID[this.spec.model],
      snmp: snmpAccessInfo(this.spec.access),
    }
  }
}
