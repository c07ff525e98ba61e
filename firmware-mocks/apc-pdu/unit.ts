/**
 * The APC unit behind the MIB: outlets (rows) with their per-outlet delays, and what each
 * command does to the simulator. Command values come from protocols/apc-mib.ts; their meaning
 * (immediate, delayed by the outlet's power-on/off time, reboot for the reboot duration,
 * cancel) lives here, once for all families.
 */
import type { ApcFamilyMib, ControlColumn } from '../../protocols/apc-mib.js'
import type { DeviceSimulator } from '../simulator.js'

export type CommandKind =
  | 'on'
  | 'off'
  | 'reboot'
  | 'delayedOn'
  | 'delayedOff'
  | 'delayedReboot'
  | 'cancel'
  | 'none'

export interface OutletRow {
  /** The simulator's outlet id (`3`, or `1:3` on a MasterSwitch Plus). */
  id: string
  /** Row index values (`[3]`, or `[1, 1, 3]`). */
  index: number[]
  /** Seconds: delayedOn waits powerOnTime (-1 = never), delayedOff powerOffTime; reboot stays off rebootDuration. */
  powerOnTime: number
  powerOffTime: number
  rebootDuration: number
}

export interface UnitIdentity {
  model: string
  firmware: string
  hardware: string
  serial: string
  name: string
  sysDescr: string
}

export interface Unit {
  family: ApcFamilyMib
  sim: DeviceSimulator
  rows: OutletRow[]
  ident: UnitIdentity
  /** The outlet count the unit reports (a faulty firmware may report one it does not have). */
  reportedOutlets: number
  /** Lab override of the off time of a reboot (ms); default: the outlet's reboot duration. */
  cycleOffMs?: number
}

/** Command value → meaning, for a family's control column (plus family-specific extras). */
export function commandKinds(
  c: ControlColumn,
  extra: Record<number, CommandKind> = {},
): ReadonlyMap<number, CommandKind> {
  const m = new Map<number, CommandKind>()
  m.set(c.on, 'on')
  m.set(c.off, 'off')
  m.set(c.reboot, 'reboot')
  if (c.cancel !== undefined) m.set(c.cancel, 'cancel')
  if (c.delayedOn !== undefined) m.set(c.delayedOn, 'delayedOn')
  if (c.delayedOff !== undefined) m.set(c.delayedOff, 'delayedOff')
  if (c.delayedReboot !== undefined) m.set(c.delayedReboot, 'delayedReboot')
  for (const [v, k] of Object.entries(extra)) m.set(Number(v), k)
  return m
}

function cycle(u: Unit, row: OutletRow, afterMs: number): void {
  // the simulator has one cycle off-time; set it to this outlet's reboot duration first
  u.sim.cycleOffMs = u.cycleOffMs ?? row.rebootDuration * 1000
  u.sim.command(row.id, 'cycle', afterMs)
}

export function execute(u: Unit, row: OutletRow, kind: CommandKind): void {
  switch (kind) {
    case 'on':
    case 'off':
      u.sim.command(row.id, kind)
      return
    case 'reboot':
      cycle(u, row, 0)
      return
    case 'delayedOn':
      if (row.powerOnTime >= 0) u.sim.command(row.id, 'on', row.powerOnTime * 1000)
      return
    case 'delayedOff':
      if (row.powerOffTime >= 0) u.sim.command(row.id, 'off', row.powerOffTime * 1000)
      return
    case 'delayedReboot':
      cycle(u, row, Math.max(0, row.powerOffTime) * 1000)
      return
    case 'cancel':
      u.sim.cancelPending(row.id)
      return
    case 'none':
      return
  }
}

export const isOn = (u: Unit, row: OutletRow): boolean => u.sim.state(row.id) === 'on'
export const isPending = (u: Unit, row: OutletRow): boolean => !!u.sim.outlet(row.id).pending
