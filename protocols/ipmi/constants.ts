/**
 * IPMI v2.0 / RMCP+ numbers, as data. Sources: IPMI v2.0 rev 1.1 (tables 13-*, 22-*, 28-*),
 * checked against ipmitool 1.8.19 and OpenIPMI's ipmi_sim (shared/reference/ipmi-drac-redfish.md).
 */

export const RMCP_PORT = 623
export const RMCP_VERSION = 0x06
/** RMCP sequence number meaning "no RMCP ACK wanted": the only one IPMI traffic uses. */
export const RMCP_SEQ_NO_ACK = 0xff

export const RmcpClass = { ASF: 0x06, IPMI: 0x07, OEM: 0x08 } as const

/** ASF messages are identified by the ASF IANA enterprise number. */
export const ASF_IANA = 4542
export const AsfType = { PING: 0x80, PONG: 0x40 } as const

/** Session header auth type / format byte. 0x06 marks an RMCP+ (IPMI v2.0) packet. */
export const AuthType = {
  NONE: 0x00,
  MD2: 0x01,
  MD5: 0x02,
  PASSWORD: 0x04,
  OEM: 0x05,
  RMCP_PLUS: 0x06,
} as const

export const PayloadType = {
  IPMI: 0x00,
  SOL: 0x01,
  OEM: 0x02,
  OPEN_SESSION_REQUEST: 0x10,
  OPEN_SESSION_RESPONSE: 0x11,
  RAKP1: 0x12,
  RAKP2: 0x13,
  RAKP3: 0x14,
  RAKP4: 0x15,
} as const

/** Payload type byte flags. */
export const PAYLOAD_ENCRYPTED = 0x80
export const PAYLOAD_AUTHENTICATED = 0x40
/** The "next header" byte of the integrity trailer (always 0x07, RMCP class IPMI). */
export const NEXT_HEADER = 0x07

/** I2C slave address of the BMC, and the software ID a remote console uses. */
export const BMC_ADDR = 0x20
export const REMOTE_CONSOLE_ADDR = 0x81

export const NetFn = { CHASSIS: 0x00, APP: 0x06, PICMG: 0x2c } as const

/** Commands by network function. */
export const Cmd = {
  // chassis
  GET_CHASSIS_STATUS: 0x01,
  CHASSIS_CONTROL: 0x02,
  // application
  GET_DEVICE_ID: 0x01,
  GET_CHANNEL_AUTH_CAPS: 0x38,
  GET_SESSION_CHALLENGE: 0x39,
  ACTIVATE_SESSION: 0x3a,
  SET_SESSION_PRIVILEGE: 0x3b,
  CLOSE_SESSION: 0x3c,
  GET_CHANNEL_CIPHER_SUITES: 0x54,
} as const

/** "This channel" in channel-addressed commands. */
export const CURRENT_CHANNEL = 0x0e

export const Privilege = { CALLBACK: 1, USER: 2, OPERATOR: 3, ADMINISTRATOR: 4, OEM: 5 } as const
export type PrivilegeName = 'callback' | 'user' | 'operator' | 'administrator'
export const PRIVILEGE_BY_NAME: Record<PrivilegeName, number> = {
  callback: Privilege.CALLBACK,
  user: Privilege.USER,
  operator: Privilege.OPERATOR,
  administrator: Privilege.ADMINISTRATOR,
}
export function privilegeName(level: number): string {
  return (
    (Object.entries(PRIVILEGE_BY_NAME) as [string, number][]).find(([, v]) => v === level)?.[0] ??
    `0x${level.toString(16)}`
  )
}

/** RAKP1 role byte: bit 4 asks for a lookup by name only (not by name and role). */
export const ROLE_NAME_ONLY_LOOKUP = 0x10

/** Chassis Control (0x00/0x02) request values. */
export const ChassisControl = {
  POWER_DOWN: 0,
  POWER_UP: 1,
  POWER_CYCLE: 2,
  HARD_RESET: 3,
  PULSE_DIAG: 4,
  SOFT_SHUTDOWN: 5,
} as const

export const AuthAlg = { NONE: 0, HMAC_SHA1: 1, HMAC_MD5: 2, HMAC_SHA256: 3 } as const
export const IntegrityAlg = {
  NONE: 0,
  HMAC_SHA1_96: 1,
  HMAC_MD5_128: 2,
  MD5_128: 3,
  HMAC_SHA256_128: 4,
} as const
export const ConfAlg = { NONE: 0, AES_CBC_128: 1, XRC4_128: 2, XRC4_40: 3 } as const

export interface SuiteAlgorithms {
  auth: number
  integrity: number
  confidentiality: number
}

/** The standard cipher suites (table 22-20): id → algorithms. */
export const STANDARD_SUITES: ReadonlyMap<number, SuiteAlgorithms> = new Map(
  (
    [
      [0, 0, 0, 0],
      [1, 1, 0, 0],
      [2, 1, 1, 0],
      [3, 1, 1, 1],
      [4, 1, 1, 2],
      [5, 1, 1, 3],
      [6, 2, 0, 0],
      [7, 2, 2, 0],
      [8, 2, 2, 1],
      [9, 2, 2, 2],
      [10, 2, 2, 3],
      [11, 2, 3, 0],
      [12, 2, 3, 1],
      [13, 2, 3, 2],
      [14, 2, 3, 3],
      [15, 3, 0, 0],
      [16, 3, 4, 0],
      [17, 3, 4, 1],
    ] as const
  ).map(([id, auth, integrity, confidentiality]) => [id, { auth, integrity, confidentiality }]),
)

/** Completion codes (table 5-2 and command-specific ones) with a short text. */
export const COMPLETION_CODES: ReadonlyMap<number, string> = new Map([
  [0x00, 'success'],
  [0x80, 'requested level not available for this user'],
  [0x81, 'requested level exceeds the user or channel limit'],
  [0x82, 'cannot disable user level authentication'],
  [0x87, 'invalid session ID'],
  [0x88, 'invalid session handle'],
  [0xc0, 'node busy'],
  [0xc1, 'invalid command'],
  [0xc2, 'command invalid for given LUN'],
  [0xc3, 'timeout while processing command'],
  [0xc4, 'out of space'],
  [0xc5, 'reservation cancelled or invalid'],
  [0xc6, 'request data truncated'],
  [0xc7, 'request data length invalid'],
  [0xc8, 'request data field length limit exceeded'],
  [0xc9, 'parameter out of range'],
  [0xca, 'cannot return number of requested data bytes'],
  [0xcb, 'requested sensor, data, or record not present'],
  [0xcc, 'invalid data field in request'],
  [0xcd, 'command illegal for specified sensor or record type'],
  [0xce, 'command response could not be provided'],
  [0xcf, 'cannot execute duplicated request'],
  [0xd0, 'SDR repository in update mode'],
  [0xd1, 'device in firmware update mode'],
  [0xd2, 'BMC initialization in progress'],
  [0xd3, 'destination unavailable'],
  [0xd4, 'insufficient privilege level'],
  [0xd5, 'command not supported in present state'],
  [0xd6, 'command sub-function disabled or unavailable'],
  [0xff, 'unspecified error'],
])

export function completionText(cc: number): string {
  return COMPLETION_CODES.get(cc) ?? 'unknown completion code'
}

/** RMCP+ and RAKP message status codes (table 13-15). */
export const RakpStatus = {
  OK: 0x00,
  INSUFFICIENT_RESOURCES: 0x01,
  INVALID_SESSION_ID: 0x02,
  INVALID_PAYLOAD_TYPE: 0x03,
  INVALID_AUTH_ALG: 0x04,
  INVALID_INTEGRITY_ALG: 0x05,
  NO_MATCHING_AUTH_PAYLOAD: 0x06,
  NO_MATCHING_INTEGRITY_PAYLOAD: 0x07,
  INACTIVE_SESSION_ID: 0x08,
  INVALID_ROLE: 0x09,
  UNAUTHORIZED_ROLE: 0x0a,
  INSUFFICIENT_RESOURCES_FOR_ROLE: 0x0b,
  INVALID_NAME_LENGTH: 0x0c,
  UNAUTHORIZED_NAME: 0x0d,
  UNAUTHORIZED_GUID: 0x0e,
  INVALID_INTEGRITY_CHECK: 0x0f,
  INVALID_CONF_ALG: 0x10,
  NO_CIPHER_SUITE_MATCH: 0x11,
  ILLEGAL_PARAMETER: 0x12,
} as const

export const RAKP_STATUS_TEXT: ReadonlyMap<number, string> = new Map([
  [0x00, 'no errors'],
  [0x01, 'insufficient resources to create a session'],
  [0x02, 'invalid session ID'],
  [0x03, 'invalid payload type'],
  [0x04, 'invalid authentication algorithm'],
  [0x05, 'invalid integrity algorithm'],
  [0x06, 'no matching authentication payload'],
  [0x07, 'no matching integrity payload'],
  [0x08, 'inactive session ID'],
  [0x09, 'invalid role'],
  [0x0a, 'unauthorized role or privilege level requested'],
  [0x0b, 'insufficient resources to create a session at the requested role'],
  [0x0c, 'invalid name length'],
  [0x0d, 'unauthorized name'],
  [0x0e, 'unauthorized GUID'],
  [0x0f, 'invalid integrity check value'],
  [0x10, 'invalid confidentiality algorithm'],
  [0x11, 'no cipher suite match with proposed security algorithms'],
  [0x12, 'illegal or unrecognized parameter'],
])

export function rakpStatusText(status: number): string {
  return RAKP_STATUS_TEXT.get(status) ?? `status 0x${status.toString(16).padStart(2, '0')}`
}

/** Longest user name (bytes) and password / Kg (bytes) in IPMI v2.0. */
export const MAX_USERNAME = 16
export const MAX_KEY = 20
