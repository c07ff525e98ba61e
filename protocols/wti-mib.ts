/**
 * WTI enterprise MIB (.2634) as data, as far as the reference documents it
 * (shared/reference/device-protocols.md §4, fence-agents-and-pacemaker.md §2): the plug-group
 * table of the MPC series, in its MIB v1 (firmware ≤ 1.44) and MIB v3 (firmware ≥ 1.62) places.
 * Shared by the wti-snmp driver and the wti-pdu mock firmware.
 *
 * Documented: group name (column 2) and group control (column 3) with INTEGER 5 on, 6 off,
 * 7 reboot; cluster-glue's wti_mpc reads names from N=1 up to the first empty one.
 * Not documented: what a GET of the control column returns. We read 5 as on and 6 as off and
 * anything else as unknown (never off), and the mock answers 5/6 when every plug of the group
 * agrees and GROUP_STATE_MIXED otherwise.
 */

export const WTI = '1.3.6.1.4.1.2634'

export type WtiMibVersion = 1 | 3
export const WTI_MIB_VERSIONS: readonly WtiMibVersion[] = [1, 3]

export interface WtiGroupTable {
  version: WtiMibVersion
  /** Table entry OID; columns sit at `<entry>.<col>.<group>`. */
  entry: string
  names: string
  control: string
}

export const WTI_GROUP_TABLES: Readonly<Record<WtiMibVersion, WtiGroupTable>> = {
  1: { version: 1, entry: `${WTI}.3.1.3.1`, names: `${WTI}.3.1.3.1.2`, control: `${WTI}.3.1.3.1.3` },
  3: {
    version: 3,
    entry: `${WTI}.3.100.300.1`,
    names: `${WTI}.3.100.300.1.2`,
    control: `${WTI}.3.100.300.1.3`,
  },
}

export const WTI_GROUP_COMMANDS = { on: 5, off: 6, reboot: 7 } as const

/** What the mock answers for a group whose plugs disagree (not a documented value). */
export const GROUP_STATE_MIXED = 0

/** cluster-glue stops scanning group names here. */
export const WTI_MAX_GROUPS = 128

/** The sysObjectID the mock announces: under .2634, not a documented product OID. */
export const WTI_MOCK_SYS_OBJECT_ID = `${WTI}.1.3`
