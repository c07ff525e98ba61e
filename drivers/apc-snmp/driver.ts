import {
  APC_FAMILY_MIBS,
  APC_SYS_OBJECT_IDS,
  type ApcFamily,
  type ApcFamilyMib,
  SYSTEM,
  apcPlugId,
  apcRowIndex,
} from '../../protocols/apc-mib.js'
import { FenceError } from '../../core/errors.js'
import type { DeviceAction, PowerState } from '../../core/types.js'
import type { Call, DriverContext, PlugInfo, PowerDriver } from '../driver.js'
import { type SnmpTargetConfig, resolveCredentials, warnWeakTarget } from '../snmp/config.js'
import { SnmpClient } from '../snmp/session.js'
import { decodeInt, decodeOidValue, decodePowerState, decodeString, isMissing } from '../snmp/varbind.js'

export interface ApcSnmpConfig {
  target: SnmpTargetConfig
  /** `auto`: identified by sysObjectID on first use. */
  model: 'auto' | ApcFamily
}

/** Objects per GET: well under any agent's PDU size limit (24 outlets go in one request). */
const MAX_VARBINDS = 40

function chunks<T>(items: readonly T[], n: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += n) out.push(items.slice(i, i + n))
  return out
}

/**
 * APC switched PDUs over SNMP (PowerNet-MIB): MasterSwitch sPDU, MasterSwitch Plus, rPDU and
 * rPDU2. Everything family-specific — OIDs, on/off values (reversed on rPDU2), commands — is
 * data in protocols/apc-mib.ts; this class only sequences requests.
 *
 * Round trips: status of any number of outlets is one GET (per 40 outlets); set is a GET of the
 * pending flag and a SET; a plug given by name adds one walk of the names column.
 */
export class ApcSnmpDriver implements PowerDriver {
  readonly kind = 'apc-snmp'
  readonly client: SnmpClient
  private mib: ApcFamilyMib | undefined
  private readonly label: string

  constructor(
    cfg: ApcSnmpConfig,
    private readonly ctx: DriverContext,
  ) {
    this.label = `${ctx.deviceId} (${cfg.target.host}:${cfg.target.port})`
    this.client = new SnmpClient({
      target: cfg.target,
      credentials: () => resolveCredentials(cfg.target, ctx),
      label: this.label,
    })
    if (cfg.model !== 'auto') this.mib = APC_FAMILY_MIBS[cfg.model]
    warnWeakTarget(cfg.target, ctx)
  }

  /** The family's MIB: from the config, else from sysObjectID (read once). */
  async family(call: Call): Promise<ApcFamilyMib> {
    if (this.mib) return this.mib
    const [vb] = await this.client.get([SYSTEM.sysObjectID], call)
    const d = decodeOidValue(vb!, SYSTEM.sysObjectID)
    if (!d.ok) throw new FenceError('PROTOCOL_ERROR', `${this.label}: unreadable sysObjectID (${d.why})`)
    const family = APC_SYS_OBJECT_IDS[d.value]
    if (!family)
      throw new FenceError(
        'DEVICE_ERROR',
        `${this.label}: sysObjectID ${d.value} is not a PDU family this driver knows; set model: sPDU, MSP, rPDU or rPDU2`,
      )
    this.mib = APC_FAMILY_MIBS[family]
    this.ctx.log('info', 'APC PDU identified', { device: this.ctx.deviceId, family, sysObjectID: d.value })
    return this.mib
  }

  /** Plug (number, `switch:outlet` or outlet name) → row index. Names cost one walk, all at once. */
  private async rows(mib: ApcFamilyMib, plugs: readonly string[], call: Call): Promise<Map<string, string>> {
    const out = new Map<string, string>()
    const named: string[] = []
    for (const p of plugs) {
      const row = apcRowIndex(mib, p)
      if (row) out.set(p, row)
      else named.push(p)
    }
    if (named.length === 0) return out
    const byName = new Map<string, string[]>()
    for (const { index, vb } of await this.client.walk(mib.names, call)) {
      const name = decodeString(vb)
      if (!name.ok) continue
      const key = name.value.trim()
      byName.set(key, [...(byName.get(key) ?? []), index])
    }
    for (const p of named) {
      const rows = byName.get(p) ?? []
      if (rows.length === 0)
        throw new FenceError('NO_SUCH_PLUG', `${this.label}: no outlet numbered or named '${p}'`)
      if (rows.length > 1)
        throw new FenceError(
          'NO_SUCH_PLUG',
          `${this.label}: ${rows.length} outlets are named '${p}' (${rows.map((r) => apcPlugId(mib, r)).join(', ')}): use their numbers`,
        )
      out.set(p, rows[0]!)
    }
    return out
  }

  private missing(plug: string, why: string): FenceError {
    return new FenceError('NO_SUCH_PLUG', `${this.label}: the PDU has no outlet ${plug} (${why})`)
  }

  async plugs(call: Call): Promise<PlugInfo[]> {
    const mib = await this.family(call)
    let reported: number | undefined
    if (mib.outletCount) {
      const [vb] = await this.client.get([mib.outletCount], call)
      const d = decodeInt(vb!, mib.outletCount)
      if (d.ok) reported = d.value
    }
    const infos: PlugInfo[] = []
    for (const { index, vb } of await this.client.walk(mib.names, call)) {
      const id = apcPlugId(mib, index)
      if (id === undefined) continue
      const name = decodeString(vb)
      infos.push(name.ok && name.value ? { id, name: name.value } : { id })
    }
    if (reported !== undefined && reported !== infos.length)
      throw new FenceError(
        'DEVICE_ERROR',
        `${this.label}: the PDU reports ${reported} outlets but lists ${infos.length} (${infos.map((i) => i.id).join(', ')}): its outlet table is inconsistent`,
      )
    return infos
  }

  async status(plugs: readonly string[], call: Call): Promise<Map<string, PowerState>> {
    const mib = await this.family(call)
    const rows = await this.rows(mib, plugs, call)
    const unique = [...new Set(rows.values())]
    const byRow = new Map<string, PowerState>()
    for (const part of chunks(unique, MAX_VARBINDS)) {
      const oids = part.map((r) => `${mib.state.column}.${r}`)
      const vbs = await this.client.get(oids, call)
      part.forEach((row, i) => {
        const d = decodePowerState(vbs[i]!, mib.state, oids[i])
        if ('missing' in d) {
          const plug = [...rows].find(([, r]) => r === row)![0]
          throw this.missing(plug, d.missing)
        }
        byRow.set(row, d.state)
      })
    }
    return new Map(plugs.map((p) => [p, byRow.get(rows.get(p)!) ?? 'unknown']))
  }

  async set(plug: string, action: DeviceAction, call: Call): Promise<void> {
    const mib = await this.family(call)
    const row = (await this.rows(mib, [plug], call)).get(plug)!
    if (mib.pending) {
      // a delayed command or a sequence still running: a new command would race it
      const oid = `${mib.pending.column}.${row}`
      const [vb] = await this.client.get([oid], call)
      const d = decodeInt(vb!, oid)
      if (isMissing(d)) throw this.missing(plug, d.why)
      if (d.ok && d.value === mib.pending.pending)
        throw new FenceError('DEVICE_BUSY', `${this.label}: outlet ${plug} has a command pending`)
    }
    const value = action === 'on' ? mib.control.on : action === 'off' ? mib.control.off : mib.control.reboot
    await this.client.set([{ oid: `${mib.control.column}.${row}`, type: 'int', value }], call)
  }

  /**
   * Cancel delayed commands (delayedOn, delayedReboot…) before a fence, so the PDU does not
   * power the node back on by itself. Reads the pending flags in one GET and cancels only
   * where something is pending; the MasterSwitch Plus has no flag, so every plug gets a cancel.
   * The sPDU has no cancel command: a pending command there is DEVICE_BUSY until it completes.
   */
  async cancelPending(plugs: readonly string[], call: Call): Promise<void> {
    const mib = await this.family(call)
    const rows = await this.rows(mib, plugs, call)
    let targets = [...new Set(rows.values())]
    if (mib.pending) {
      const pending = mib.pending
      const oids = targets.map((r) => `${pending.column}.${r}`)
      const vbs = await this.client.get(oids, call)
      targets = targets.filter((r, i) => {
        const d = decodeInt(vbs[i]!, oids[i])
        if (isMissing(d)) throw this.missing(apcPlugId(mib, r) ?? r, d.why)
        if (d.ok && d.value === pending.pending) return true
        // unknown or unreadable: cancel anyway where the family can (harmless, the safe side);
        // where it cannot, only a command known to be pending holds the fence back
        return mib.control.cancel !== undefined && !(d.ok && d.value === pending.none)
      })
    }
    if (targets.length === 0) return
    const cancel = mib.control.cancel
    if (cancel === undefined)
      throw new FenceError(
        'DEVICE_BUSY',
        `${this.label}: outlets ${targets.map((r) => apcPlugId(mib, r)).join(', ')} have a command pending and the ${mib.title} cannot cancel it`,
      )
    await this.client.set(
      targets.map((r) => ({ oid: `${mib.control.column}.${r}`, type: 'int' as const, value: cancel })),
      call,
    )
  }

  async close(): Promise<void> {
    await this.client.close()
  }
}
