/**
 * APC PowerNet-MIB (enterprise .318) as data: the outlet objects of the four switched PDU
 * families, shared by the apc-snmp driver and the apc-pdu mock firmware so that a wrong OID
 * shows up once, in a test against a real client (fence_apc_snmp, snmpget, cluster-glue).
 * Facts: shared/reference/device-protocols.md §3, fence-agents-and-pacemaker.md §2.
 *
 * OIDs are written without the leading dot (net-snmp's form). A column OID ends before the
 * row index; the row index of an outlet is `N`, or `S.1.N` on a MasterSwitch Plus.
 */

export const SYSTEM = {
  sysDescr: '1.3.6.1.2.1.1.1.0',
  sysObjectID: '1.3.6.1.2.1.1.2.0',
  sysUpTime: '1.3.6.1.2.1.1.3.0',
  sysContact: '1.3.6.1.2.1.1.4.0',
  sysName: '1.3.6.1.2.1.1.5.0',
  sysLocation: '1.3.6.1.2.1.1.6.0',
  sysServices: '1.3.6.1.2.1.1.7.0',
} as const

export const POWERNET = '1.3.6.1.4.1.318'

export type ApcFamily = 'sPDU' | 'MSP' | 'rPDU' | 'rPDU2'
export const APC_FAMILIES: readonly ApcFamily[] = ['sPDU', 'MSP', 'rPDU', 'rPDU2']

/** sysObjectID (`.318.1.3.4.x`) → family. Products not listed here must be named in the config. */
export const APC_SYS_OBJECT_IDS: Readonly<Record<string, ApcFamily>> = {
  [`${POWERNET}.1.3.4.1`]: 'sPDU', // masterSwitchV1
  [`${POWERNET}.1.3.4.2`]: 'sPDU', // masterSwitchV2
  [`${POWERNET}.1.3.4.4`]: 'MSP', // masterSwitchPlus
  [`${POWERNET}.1.3.4.5`]: 'rPDU', // masterSwitchrPDU
  [`${POWERNET}.1.3.4.6`]: 'rPDU2', // rpdu2g (fence_apc_snmp: "firmware v6.x")
  [`${POWERNET}.1.3.4.7`]: 'sPDU', // masterSwitchsPDU
}

/** The sysObjectID a unit of each family announces (what the mock serves). */
export const APC_FAMILY_SYS_OBJECT_ID: Readonly<Record<ApcFamily, string>> = {
  sPDU: `${POWERNET}.1.3.4.7`,
  MSP: `${POWERNET}.1.3.4.4`,
  rPDU: `${POWERNET}.1.3.4.5`,
  rPDU2: `${POWERNET}.1.3.4.6`,
}

/** An INTEGER column whose values mean on and off. */
export interface StateColumn {
  column: string
  on: number
  off: number
}

export interface ControlColumn {
  column: string
  /** Immediate commands. */
  on: number
  off: number
  /** The device's own reboot: only for an operator's cycle, never for a fence (design rule 2). */
  reboot: number
  /** Cancels a pending delayed command; absent where the MIB has none (sPDU). */
  cancel?: number
  delayedOn?: number
  delayedOff?: number
  delayedReboot?: number
  /** What a GET of the command column returns (the outlet state, in command values). */
  reads: { on: number; off: number }
}

export interface PendingColumn {
  column: string
  pending: number
  none: number
}

export interface ApcFamilyMib {
  family: ApcFamily
  title: string
  /** MasterSwitch Plus: outlets are `switch:outlet`, row index `S.1.N`. */
  switched: boolean
  /** Scalar instance holding the number of outlets, where the family has one. */
  outletCount?: string
  /** Column of outlet names (the one fence_apc_snmp walks where it reads this family). */
  names: string
  state: StateColumn
  control: ControlColumn
  pending?: PendingColumn
  /** Per-outlet configuration (writable name, delays in seconds). */
  config?: {
    name?: string
    powerOnTime?: string
    powerOffTime?: string
    rebootDuration?: string
  }
  /** Identity objects (instance OIDs). */
  ident: { model?: string; firmware?: string; hardware?: string; name?: string; serial?: string }
}

const S = `${POWERNET}.1.1.4` // sPDU
const M = `${POWERNET}.1.1.6` // MasterSwitch Plus
const R = `${POWERNET}.1.1.12` // rPDU
const R2 = `${POWERNET}.1.1.26` // rPDU2

/** sPDU: sPDUOutletCtl both reads the state and takes the command. */
export const SPDU = {
  ident: { hardware: `${S}.1.1.0`, firmware: `${S}.1.2.0`, model: `${S}.1.4.0` },
  masterControl: `${S}.2.1.0`,
  masterState: `${S}.2.2.0`,
  outletTableSize: `${S}.4.1.0`,
  ctlEntry: `${S}.4.2.1`,
  configEntry: `${S}.5.2.1`,
  /** sPDUMasterControlSwitch values. */
  master: {
    allOnNow: 1,
    allOnSequence: 2,
    allOffNow: 3,
    rebootAllNow: 4,
    rebootAllSequence: 5,
    noCommand: 6,
    allOffSequence: 7,
  },
  /** GET of sPDUOutletCtl when the state is not known. */
  stateUnknown: 4,
  /** sPDUOutletPending: 3 = unknown. */
  pendingUnknown: 3,
  /** sPDUOutletConfigRebootDuration takes only these values (seconds). */
  rebootDurations: [5, 10, 15, 20, 30, 45, 60],
} as const

export const MSP = {
  controlEntry: `${M}.5.1.1`,
  statusEntry: `${M}.7.1.1`,
  commands: {
    immediateOn: 1,
    delayedOn: 2,
    immediateOff: 3,
    gracefulReboot: 4,
    immediateReboot: 5,
    gracefulShutdown: 6,
    overrideBatCapThresh: 7,
    cancelPending: 8,
  },
} as const

export const RPDU = {
  ident: {
    name: `${R}.1.1.0`,
    firmware: `${R}.1.3.0`,
    model: `${R}.1.5.0`,
    serial: `${R}.1.6.0`,
    numOutlets: `${R}.1.8.0`,
  },
  controlEntry: `${R}.3.3.1.1`,
  configEntry: `${R}.3.4.1.1`,
  statusEntry: `${R}.3.5.1.1`,
  /** Models cluster-glue's apcmastersnmp accepts without a warning. */
  gluedModels: ['AP9606', 'AP7920', 'AP7921', 'AP7900'],
} as const

export const RPDU2 = {
  identEntry: `${R2}.2.1`,
  devicePropertiesEntry: `${R2}.4.2.1`,
  outletTableSize: `${R2}.9.1.0`,
  configEntry: `${R2}.9.2.1.1`,
  statusEntry: `${R2}.9.2.3.1`,
  controlEntry: `${R2}.9.2.4.1`,
} as const

export const APC_FAMILY_MIBS: Readonly<Record<ApcFamily, ApcFamilyMib>> = {
  sPDU: {
    family: 'sPDU',
    title: 'MasterSwitch (sPDU)',
    switched: false,
    outletCount: SPDU.outletTableSize,
    names: `${SPDU.ctlEntry}.4`,
    // GET of sPDUOutletCtl: 1 on, 2 off, 4 unknown
    state: { column: `${SPDU.ctlEntry}.3`, on: 1, off: 2 },
    control: {
      column: `${SPDU.ctlEntry}.3`,
      on: 1,
      off: 2,
      reboot: 3,
      delayedOn: 5,
      delayedOff: 6,
      delayedReboot: 7,
      reads: { on: 1, off: 2 },
    },
    pending: { column: `${SPDU.ctlEntry}.2`, pending: 1, none: 2 },
    config: {
      powerOnTime: `${SPDU.configEntry}.2`,
      name: `${SPDU.configEntry}.3`,
      powerOffTime: `${SPDU.configEntry}.4`,
      rebootDuration: `${SPDU.configEntry}.5`,
    },
    ident: SPDU.ident,
  },
  MSP: {
    family: 'MSP',
    title: 'MasterSwitch Plus',
    switched: true,
    names: `${MSP.statusEntry}.4`,
    state: { column: `${MSP.statusEntry}.5`, on: 1, off: 2 },
    control: {
      column: `${MSP.controlEntry}.5`,
      on: MSP.commands.immediateOn,
      off: MSP.commands.immediateOff,
      reboot: MSP.commands.immediateReboot,
      cancel: MSP.commands.cancelPending,
      delayedOn: MSP.commands.delayedOn,
      reads: { on: MSP.commands.immediateOn, off: MSP.commands.immediateOff },
    },
    ident: {},
  },
  rPDU: {
    family: 'rPDU',
    title: 'Switched Rack PDU (rPDU)',
    switched: false,
    outletCount: RPDU.ident.numOutlets,
    names: `${RPDU.statusEntry}.2`,
    state: { column: `${RPDU.statusEntry}.4`, on: 1, off: 2 },
    control: {
      column: `${RPDU.controlEntry}.4`,
      on: 1,
      off: 2,
      reboot: 3,
      delayedOn: 4,
      delayedOff: 5,
      delayedReboot: 6,
      cancel: 7,
      reads: { on: 1, off: 2 },
    },
    pending: { column: `${RPDU.statusEntry}.5`, pending: 1, none: 2 },
    config: {
      name: `${RPDU.configEntry}.2`,
      powerOnTime: `${RPDU.configEntry}.4`,
      powerOffTime: `${RPDU.configEntry}.5`,
      rebootDuration: `${RPDU.configEntry}.6`,
    },
    ident: {
      name: RPDU.ident.name,
      firmware: RPDU.ident.firmware,
      model: RPDU.ident.model,
      serial: RPDU.ident.serial,
    },
  },
  rPDU2: {
    family: 'rPDU2',
    title: 'Switched Rack PDU, 2nd generation (rPDU2, AP84xx/86xx/89xx)',
    switched: false,
    outletCount: RPDU2.outletTableSize,
    names: `${RPDU2.statusEntry}.3`,
    // reversed: 1 off, 2 on
    state: { column: `${RPDU2.statusEntry}.5`, on: 2, off: 1 },
    control: {
      column: `${RPDU2.controlEntry}.5`,
      on: 1,
      off: 2,
      reboot: 3,
      delayedOn: 5,
      delayedOff: 6,
      delayedReboot: 7,
      cancel: 8,
      reads: { on: 1, off: 2 },
    },
    pending: { column: `${RPDU2.statusEntry}.6`, pending: 1, none: 2 },
    config: {
      name: `${RPDU2.configEntry}.3`,
      powerOnTime: `${RPDU2.configEntry}.5`,
      powerOffTime: `${RPDU2.configEntry}.6`,
      rebootDuration: `${RPDU2.configEntry}.7`,
    },
    ident: { model: `${RPDU2.identEntry}.8.1`, firmware: `${RPDU2.identEntry}.6.1` },
  },
}

/** A plug as the config writes it (`3`, or `1:3` on a MasterSwitch Plus) → its row index, or undefined. */
export function apcRowIndex(mib: ApcFamilyMib, plug: string): string | undefined {
  const m = /^(?:(\d{1,4}):)?(\d{1,4})$/.exec(plug)
  if (!m) return undefined
  const outlet = Number(m[2])
  if (outlet < 1) return undefined
  if (!mib.switched) return m[1] === undefined ? String(outlet) : undefined
  const sw = m[1] === undefined ? 1 : Number(m[1]) // fence_apc_snmp's --switch defaults to 1
  if (sw < 1) return undefined
  return `${sw}.1.${outlet}`
}

/** A row index → the plug id the driver reports (`3`, `1:3`). */
export function apcPlugId(mib: ApcFamilyMib, rowIndex: string): string | undefined {
  const parts = rowIndex.split('.')
  if (!parts.every((p) => /^\d+$/.test(p))) return undefined
  if (!mib.switched) return parts.length === 1 ? parts[0] : undefined
  return parts.length === 3 && parts[1] === '1' ? `${parts[0]}:${parts[2]}` : undefined
}
