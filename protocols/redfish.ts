/**
 * Redfish vocabulary shared by the redfish driver and the iDRAC-like mock (DMTF DSP0266,
 * ComputerSystem schema). Data only: power states, reset types, the standard paths.
 */

export const SERVICE_ROOT = '/redfish/v1'
export const SESSIONS_PATH = '/redfish/v1/SessionService/Sessions'
export const RESET_ACTION = '#ComputerSystem.Reset'

/** ComputerSystem.PowerState values (Resource.PowerState). */
export const POWER_STATES = ['On', 'Off', 'PoweringOn', 'PoweringOff', 'Paused'] as const
export type RedfishPowerState = (typeof POWER_STATES)[number]

/** ResetType values (Resource.ResetType). */
export const RESET_TYPES = [
  'On',
  'ForceOff',
  'GracefulShutdown',
  'GracefulRestart',
  'ForceRestart',
  'Nmi',
  'ForceOn',
  'PushPowerButton',
  'PowerCycle',
] as const
export type ResetType = (typeof RESET_TYPES)[number]

/**
 * What a PowerState means for fencing. Only `Off` is off: `PoweringOff` still has power on
 * the board (on), `Paused` is powered (on); `PoweringOn` is neither yet (unknown: an `on` is
 * not verified by it, and it is never off). Undefined: not a PowerState at all.
 */
export function powerStateOf(v: string): 'on' | 'off' | 'unknown' | undefined {
  if (v === 'Off') return 'off'
  if (v === 'On' || v === 'PoweringOff' || v === 'Paused') return 'on'
  if (v === 'PoweringOn') return 'unknown'
  return undefined
}

/** The reset types tried, in order, for each driver action (first advertised wins). Never a graceful one. */
export const RESET_FOR: Readonly<Record<'on' | 'off' | 'cycle', readonly ResetType[]>> = {
  off: ['ForceOff'],
  on: ['On', 'ForceOn'],
  cycle: ['PowerCycle', 'ForceRestart'],
}

/** A Redfish error body (DSP0266 §9.5.2.3): `error.code`, `error.message`, `@Message.ExtendedInfo`. */
export function redfishError(code: string, message: string, resolution = ''): Record<string, unknown> {
  return {
    error: {
      code: 'Base.1.12.GeneralError',
      message: 'A general error has occurred. See ExtendedInfo for more information.',
      '@Message.ExtendedInfo': [
        { MessageId: code, Message: message, Severity: 'Warning', Resolution: resolution || 'None.' },
      ],
    },
  }
}

/** The most specific human text of an error body, or undefined (anything may arrive). */
export function redfishErrorText(body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return undefined
  const err = (body as Record<string, unknown>).error
  if (!err || typeof err !== 'object') return undefined
  const e = err as Record<string, unknown>
  const info = e['@Message.ExtendedInfo']
  if (Array.isArray(info))
    for (const i of info)
      if (i && typeof i === 'object' && typeof (i as Record<string, unknown>).Message === 'string') {
        const m = i as Record<string, unknown>
        return `${m.Message}${typeof m.MessageId === 'string' ? ` (${m.MessageId})` : ''}`
      }
  return typeof e.message === 'string' ? e.message : undefined
}
