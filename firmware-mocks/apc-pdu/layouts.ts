/**
 * Which PowerNet-MIB objects each APC model serves, built from the OID data in
 * protocols/apc-mib.ts. A second-generation rPDU2 also serves the legacy sPDU outlet table
 * and the rPDU control column, as the real units do (fence_apc_snmp reads the former and
 * writes the latter for sysObjectID .4.6).
 */
import {
  APC_FAMILY_MIBS,
  type ApcFamily,
  type ControlColumn,
  MSP,
  RPDU,
  RPDU2,
  SPDU,
} from '../../protocols/apc-mib.js'
import type { ColumnDef, ScalarDef, TableDef } from '../snmp/mib-tables.js'
import {
  type CommandKind,
  type OutletRow,
  type Unit,
  commandKinds,
  execute,
  isOn,
  isPending,
} from './unit.js'

type Col = ColumnDef<OutletRow>

export interface Layout {
  scalars: ScalarDef[]
  tables: (TableDef<OutletRow> | TableDef<number>)[]
}

const NAME_MAX = 20

const c = {
  index: (_u: Unit, n: number, name: string, k = 0): Col => ({
    number: n,
    name,
    type: 'int',
    get: (r) => r.index[k]!,
  }),
  name: (u: Unit, n: number, name: string): Col => ({
    number: n,
    name,
    type: 'str',
    get: (r) => u.sim.outlet(r.id).name,
  }),
  nameRw: (u: Unit, n: number, name: string): Col => ({
    ...c.name(u, n, name),
    maxLength: NAME_MAX,
    write: {
      set: (r, v) => {
        u.sim.outlet(r.id).name = String(v)
      },
    },
  }),
  state: (u: Unit, n: number, name: string, values: { on: number; off: number }): Col => ({
    number: n,
    name,
    type: 'int',
    get: (r) => (isOn(u, r) ? values.on : values.off),
  }),
  pending: (u: Unit, n: number, name: string, values: { pending: number; none: number }): Col => ({
    number: n,
    name,
    type: 'int',
    get: (r) => (isPending(u, r) ? values.pending : values.none),
  }),
  control: (
    u: Unit,
    n: number,
    name: string,
    ctl: ControlColumn,
    extra?: Record<number, CommandKind>,
  ): Col => {
    const kinds = commandKinds(ctl, extra)
    return {
      number: n,
      name,
      type: 'int',
      get: (r) => (isOn(u, r) ? ctl.reads.on : ctl.reads.off),
      enumeration: [...kinds.keys()].sort((a, b) => a - b),
      write: { set: (r, v) => execute(u, r, kinds.get(Number(v)) ?? 'none') },
    }
  },
  seconds: (
    n: number,
    name: string,
    field: 'powerOnTime' | 'powerOffTime' | 'rebootDuration',
    allowed: { range: { min: number; max: number } } | { enumeration: readonly number[] },
  ): Col => ({
    number: n,
    name,
    type: 'int',
    get: (r) => r[field],
    ...allowed,
    write: {
      set: (r, v) => {
        r[field] = Number(v)
      },
    },
  }),
}

const DELAY = { range: { min: -1, max: 7200 } }
const REBOOT = { range: { min: 5, max: 60 } }

const str = (name: string, oid: string, get: () => string): ScalarDef => ({
  name,
  oid: oid.replace(/\.0$/, ''),
  type: 'str',
  get,
})
const int = (name: string, oid: string, get: () => number): ScalarDef => ({
  name,
  oid: oid.replace(/\.0$/, ''),
  type: 'int',
  get,
})

function table(
  name: string,
  entry: string,
  u: Unit,
  indexColumns: number,
  columns: Col[],
): TableDef<OutletRow> {
  return { name, entry, indexColumns, rows: u.rows, columns }
}

function spduOutletTable(u: Unit, prefix: string): TableDef<OutletRow> {
  const mib = APC_FAMILY_MIBS.sPDU
  return table(`${prefix}sPDUOutletControlEntry`, SPDU.ctlEntry, u, 1, [
    c.index(u, 1, `${prefix}sPDUOutletControlIndex`),
    c.pending(u, 2, `${prefix}sPDUOutletPending`, mib.pending!),
    c.control(u, 3, `${prefix}sPDUOutletCtl`, mib.control),
    c.name(u, 4, `${prefix}sPDUOutletCtlName`),
  ])
}

function rpduControlTable(u: Unit, prefix: string): TableDef<OutletRow> {
  return table(`${prefix}rPDUOutletControlEntry`, RPDU.controlEntry, u, 1, [
    c.index(u, 1, `${prefix}rPDUOutletControlIndex`),
    c.name(u, 2, `${prefix}rPDUOutletControlOutletName`),
    c.control(u, 4, `${prefix}rPDUOutletControlOutletCommand`, APC_FAMILY_MIBS.rPDU.control),
  ])
}

function sPDU(u: Unit): Layout {
  const all = (kind: CommandKind) => () => {
    for (const r of u.rows) execute(u, r, kind)
  }
  const masterActions: Record<number, () => void> = {
    [SPDU.master.allOnNow]: all('on'),
    [SPDU.master.allOnSequence]: all('on'),
    [SPDU.master.allOffNow]: all('off'),
    [SPDU.master.allOffSequence]: all('off'),
    [SPDU.master.rebootAllNow]: all('reboot'),
    [SPDU.master.rebootAllSequence]: all('reboot'),
    [SPDU.master.noCommand]: () => {},
  }
  return {
    scalars: [
      str('sPDUIdentHardwareRev', SPDU.ident.hardware, () => u.ident.hardware),
      str('sPDUIdentFirmwareRev', SPDU.ident.firmware, () => u.ident.firmware),
      str('sPDUIdentModelNumber', SPDU.ident.model, () => u.ident.model),
      {
        ...int('sPDUMasterControlSwitch', SPDU.masterControl, () => SPDU.master.noCommand),
        enumeration: Object.values(SPDU.master),
        write: { set: (_r, v) => masterActions[Number(v)]?.() },
      },
      str('sPDUMasterState', SPDU.masterState, () =>
        u.rows.map((r) => (isOn(u, r) ? 'On' : 'Off')).join(' '),
      ),
      int('sPDUOutletControlTableSize', SPDU.outletTableSize, () => u.reportedOutlets),
    ],
    tables: [
      spduOutletTable(u, ''),
      table('sPDUOutletConfigEntry', SPDU.configEntry, u, 1, [
        c.index(u, 1, 'sPDUOutletConfigIndex'),
        c.seconds(2, 'sPDUOutletPowerOnTime', 'powerOnTime', DELAY),
        c.nameRw(u, 3, 'sPDUOutletName'),
        c.seconds(4, 'sPDUOutletPowerOffTime', 'powerOffTime', DELAY),
        c.seconds(5, 'sPDUOutletRebootDuration', 'rebootDuration', { enumeration: SPDU.rebootDurations }),
      ]),
    ],
  }
}

function msp(u: Unit): Layout {
  const mib = APC_FAMILY_MIBS.MSP
  const idx = (p: string) => [
    c.index(u, 1, `${p}TableIndex`, 0),
    c.index(u, 2, `${p}ButtonIndex`, 1),
    c.index(u, 3, `${p}OutletIndex`, 2),
  ]
  return {
    scalars: [],
    tables: [
      table('sPDUOutletControlMSPEntry', MSP.controlEntry, u, 3, [
        ...idx('sPDUOutletControlMSP'),
        c.name(u, 4, 'sPDUOutletControlMSPOutletName'),
        c.control(u, 5, 'sPDUOutletControlMSPOutletCommand', mib.control, {
          [MSP.commands.gracefulReboot]: 'reboot',
          [MSP.commands.gracefulShutdown]: 'off',
          [MSP.commands.overrideBatCapThresh]: 'none',
        }),
      ]),
      table('sPDUOutletStatusMSPEntry', MSP.statusEntry, u, 3, [
        ...idx('sPDUOutletStatusMSP'),
        c.name(u, 4, 'sPDUOutletStatusMSPOutletName'),
        c.state(u, 5, 'sPDUOutletStatusMSPOutletState', mib.state),
      ]),
    ],
  }
}

function rPDU(u: Unit): Layout {
  const mib = APC_FAMILY_MIBS.rPDU
  return {
    scalars: [
      str('rPDUIdentName', RPDU.ident.name, () => u.ident.name),
      str('rPDUIdentFirmwareRev', RPDU.ident.firmware, () => u.ident.firmware),
      str('rPDUIdentModelNumber', RPDU.ident.model, () => u.ident.model),
      str('rPDUIdentSerialNumber', RPDU.ident.serial, () => u.ident.serial),
      int('rPDUIdentDeviceNumOutlets', RPDU.ident.numOutlets, () => u.reportedOutlets),
    ],
    tables: [
      rpduControlTable(u, ''),
      table('rPDUOutletConfigEntry', RPDU.configEntry, u, 1, [
        c.index(u, 1, 'rPDUOutletConfigIndex'),
        c.nameRw(u, 2, 'rPDUOutletConfigOutletName'),
        c.seconds(4, 'rPDUOutletConfigPowerOnTime', 'powerOnTime', DELAY),
        c.seconds(5, 'rPDUOutletConfigPowerOffTime', 'powerOffTime', DELAY),
        c.seconds(6, 'rPDUOutletConfigRebootDuration', 'rebootDuration', REBOOT),
      ]),
      table('rPDUOutletStatusEntry', RPDU.statusEntry, u, 1, [
        c.index(u, 1, 'rPDUOutletStatusIndex'),
        c.name(u, 2, 'rPDUOutletStatusOutletName'),
        c.state(u, 4, 'rPDUOutletStatusOutletState', mib.state),
        c.pending(u, 5, 'rPDUOutletStatusCommandPending', mib.pending!),
      ]),
    ],
  }
}

function rPDU2(u: Unit): Layout {
  const mib = APC_FAMILY_MIBS.rPDU2
  const device: TableDef<number> = {
    name: 'rPDU2IdentEntry',
    entry: RPDU2.identEntry,
    indexColumns: 1,
    rows: [1],
    columns: [
      { number: 1, name: 'rPDU2IdentIndex', type: 'int', get: (i) => i },
      { number: 6, name: 'rPDU2IdentFirmwareRev', type: 'str', get: () => u.ident.firmware },
      { number: 8, name: 'rPDU2IdentModelNumber', type: 'str', get: () => u.ident.model },
    ],
  }
  const props: TableDef<number> = {
    name: 'rPDU2DevicePropertiesEntry',
    entry: RPDU2.devicePropertiesEntry,
    indexColumns: 1,
    rows: [1],
    columns: [
      { number: 1, name: 'rPDU2DevicePropertiesIndex', type: 'int', get: (i) => i },
      { number: 4, name: 'rPDU2DevicePropertiesNumOutlets', type: 'int', get: () => u.reportedOutlets },
      {
        number: 5,
        name: 'rPDU2DevicePropertiesNumSwitchedOutlets',
        type: 'int',
        get: () => u.reportedOutlets,
      },
    ],
  }
  return {
    scalars: [int('rPDU2OutletSwitchedTableSize', RPDU2.outletTableSize, () => u.reportedOutlets)],
    tables: [
      device,
      props,
      table('rPDU2OutletSwitchedConfigEntry', RPDU2.configEntry, u, 1, [
        c.index(u, 1, 'rPDU2OutletSwitchedConfigIndex'),
        c.nameRw(u, 3, 'rPDU2OutletSwitchedConfigName'),
        c.seconds(5, 'rPDU2OutletSwitchedConfigPowerOnTime', 'powerOnTime', DELAY),
        c.seconds(6, 'rPDU2OutletSwitchedConfigPowerOffTime', 'powerOffTime', DELAY),
        c.seconds(7, 'rPDU2OutletSwitchedConfigRebootDuration', 'rebootDuration', REBOOT),
      ]),
      table('rPDU2OutletSwitchedStatusEntry', RPDU2.statusEntry, u, 1, [
        c.index(u, 1, 'rPDU2OutletSwitchedStatusIndex'),
        c.name(u, 3, 'rPDU2OutletSwitchedStatusName'),
        c.state(u, 5, 'rPDU2OutletSwitchedStatusState', mib.state),
        c.pending(u, 6, 'rPDU2OutletSwitchedStatusCommandPending', mib.pending!),
      ]),
      table('rPDU2OutletSwitchedControlEntry', RPDU2.controlEntry, u, 1, [
        c.index(u, 1, 'rPDU2OutletSwitchedControlIndex'),
        c.control(u, 5, 'rPDU2OutletSwitchedControlCommand', mib.control),
      ]),
      // legacy objects the second generation keeps serving
      spduOutletTable(u, 'legacy-'),
      rpduControlTable(u, 'legacy-'),
    ],
  }
}

export const LAYOUTS: Readonly<Record<ApcFamily, (u: Unit) => Layout>> = { sPDU, MSP: msp, rPDU, rPDU2 }
