/**
 * IPMI answers turned into typed errors. Completion codes and RAKP status codes are data:
 * which FenceError code each becomes decides whether the engine retries (transient) or moves
 * on to the next fencing level (permanent).
 */
import { RakpStatus, completionText, rakpStatusText } from '../../protocols/ipmi/constants.js'
import { type ErrorCode, FenceError } from '../../core/errors.js'

const COMPLETION_ERRORS: ReadonlyMap<number, ErrorCode> = new Map<number, ErrorCode>([
  [0xc0, 'DEVICE_BUSY'], // node busy: virtualbmc says so when libvirt fails, "let the client retry"
  [0xc3, 'DEVICE_TIMEOUT'],
  [0xce, 'DEVICE_BUSY'], // response could not be provided
  [0xd1, 'DEVICE_BUSY'], // firmware update in progress
  [0xd2, 'DEVICE_BUSY'], // BMC initialisation in progress
  [0xc1, 'UNSUPPORTED_ACTION'],
  [0xcc, 'UNSUPPORTED_ACTION'], // e.g. a chassis control value the BMC does not implement
  [0xd6, 'UNSUPPORTED_ACTION'],
  [0xd4, 'AUTH_REFUSED'], // insufficient privilege level
  [0x80, 'AUTH_REFUSED'], // Set Session Privilege: level not available to this user
  [0x81, 'AUTH_REFUSED'], // Set Session Privilege: above the user's or channel's limit
])

export function completionError(cc: number, what: string, label: string): FenceError {
  const code = COMPLETION_ERRORS.get(cc) ?? 'DEVICE_ERROR'
  const hex = `0x${cc.toString(16).toUpperCase().padStart(2, '0')}`
  return new FenceError(code, `${label}: ${what} failed: completion code ${hex} (${completionText(cc)})`, {
    completionCode: cc,
  })
}

const RAKP_ERRORS: ReadonlyMap<number, ErrorCode> = new Map<number, ErrorCode>([
  [RakpStatus.INSUFFICIENT_RESOURCES, 'DEVICE_BUSY'], // session table full: sessions time out
  [RakpStatus.INSUFFICIENT_RESOURCES_FOR_ROLE, 'DEVICE_BUSY'],
  [RakpStatus.INVALID_SESSION_ID, 'PROTOCOL_ERROR'], // the BMC forgot the half-open session
  [RakpStatus.INACTIVE_SESSION_ID, 'PROTOCOL_ERROR'],
  [RakpStatus.INVALID_AUTH_ALG, 'INSECURE_DEVICE'],
  [RakpStatus.INVALID_INTEGRITY_ALG, 'INSECURE_DEVICE'],
  [RakpStatus.INVALID_CONF_ALG, 'INSECURE_DEVICE'],
  [RakpStatus.NO_CIPHER_SUITE_MATCH, 'INSECURE_DEVICE'],
  [RakpStatus.NO_MATCHING_AUTH_PAYLOAD, 'INSECURE_DEVICE'],
  [RakpStatus.NO_MATCHING_INTEGRITY_PAYLOAD, 'INSECURE_DEVICE'],
])

/** An RMCP+ / RAKP status other than 0 from the BMC; anything not listed is a refusal of our login. */
export function rakpError(status: number, step: string, label: string, hint = ''): FenceError {
  const code = RAKP_ERRORS.get(status) ?? 'AUTH_REFUSED'
  const hex = `0x${status.toString(16).toUpperCase().padStart(2, '0')}`
  return new FenceError(code, `${label}: ${step} refused: status ${hex} (${rakpStatusText(status)})${hint}`, {
    rakpStatus: status,
  })
}
