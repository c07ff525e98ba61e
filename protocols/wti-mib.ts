/**
 * WTI enterprise MIB (.2634) as data, as far as the references document it
 * (shared/reference/device-protocols.md §4, fence-agents-and-pacemaker.md §2): the plug-group
 * table of the MPC series, in its MIB v1 (firmware ≤ 1.44) and MIB v3 (firmware ≥ 1.62)
 * places, and MIB v3's per-plug table. Shared by the wti-snmp driver and the wti-pdu mock.
 *
 * Documented: group name (column 2) and group action (column 3) with INTEGER 5 on, 6 off,
 * 7 reboot; cluster-glue's wti_mpc reads names from N=1 up to the first empty one. On MIB v3
 * (WTI-MPC-MIB, revision 2008-12-17): plugTable `.3.100.200.1`, index plugIndex, plugStatus
 * (column 3, read-only) 0 = OFF, 1 = ON (WTI's MPC user's guide, "Plug Control via SNMP";
 * the MIB file itself only says "Plug status").
 * Not documented: what a GET of the group action column returns, nor which plugs a group
 * holds (no MIB object says). So a group is read back plug by plug on MIB v3, from plugStatus
 * of the plugs the device config lists for it; on MIB v1 there is no plug table, and a group's
 * read-back is unverified unless the config trusts the action column (5 on, 6 off).
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

/** What the MIB v1 mock answers for a group whose plugs disagree (not a documented value). */
export const GROUP_STATE_MIXED = 0

/** MIB v3's per-plug table (WTI-MPC-MIB plugTable): columns at `<entry>.<col>.<plugIndex>`. */
export const WTI_PLUG_TABLE = {
  entry: `${WTI}.3.100.200.1`,
  /** plugID, DisplayString (9..11), read-only */
  id: `${WTI}.3.100.200.1.2`,
  /** plugStatus, INTEGER (0..1), read-only: 0 off, 1 on */
  status: `${WTI}.3.100.200.1.3`,
  /** plugAction, INTEGER (0..8), read-write (1-4 mark, 5-8 mark and execute) */
  action: `${WTI}.3.100.200.1.4`,
  /** plugName, DisplayString, read-only */
  name: `${WTI}.3.100.200.1.5`,
} as const

/** plugStatus values (WTI MPC user's guide §13.4.1). */
export const WTI_PLUG_STATUS = { on: 1, off: 0 } as const

/** plugIndex range in WTI-MPC-MIB. */
export const WTI_MAX_PLUG_INDEX = 80

/** cluster-glue stops scanning group names here. */
export const WTI_MAX_GROUPS = 128

/** The sysObjectID the mock announces: under .2634, not a documented product OID. */
export const WTI_MOCK_SYS_OBJECT_ID = `${WTI}.1.3`
