/**
 * The vocabulary every layer shares. Kept free of runtime code.
 */

/** What a plug or a node reads as. `unknown` is never treated as off. */
export type PowerState = 'on' | 'off' | 'unknown'

/** What a driver can be asked to do to one plug. `cycle` is the device's own cycle. */
export type DeviceAction = 'on' | 'off' | 'cycle'

/** What a caller can ask of a node. `reboot` is off, verify, wait, on (never a device cycle). */
export type NodeAction = 'on' | 'off' | 'cycle' | 'reboot'

/** What fencing does to a node. */
export type FenceAction = 'off' | 'reboot'

/** Roles of API tokens, weakest first. */
export type Role = 'viewer' | 'operator' | 'fencer'

/** One plug of one device, as the config names it (`pdu1:3`). */
export interface PlugRef {
  device: string
  plug: string
}

export function plugKey(ref: PlugRef): string {
  return `${ref.device}:${ref.plug}`
}

/** Who asked for an operation: for the journal, for permissions (fence hold). */
export interface Initiator {
  /** token name, `cli`, `heartbeat`, `demo`… */
  name: string
  role: Role
  /** which front door: api, cli, agent, heartbeat, engine */
  via: string
}
