/**
 * APC's serial "smart" protocol (Smart-UPS, Back-UPS Pro, Matrix-UPS), the subset a power
 * switch needs; shared by drivers/apc-smartups and firmware-mocks/apc-smartups. Facts from
 * cluster-glue's apcsmart plugin and NUT (device-protocols.md §5).
 *
 * 2400 8N1. Commands are single characters (`@` takes three digits); clients write them one byte
 * at a time, 50 ms apart. Replies end with LF (CR ignored); a lone `*` is a complete reply.
 */

export const DEFAULT_BAUD = 2400

export const CMD = {
  /** Enter smart mode; reply `SM`. Sent before every operation. */
  smartMode: 'Y',
  /** Status flags, 2 hex digits. */
  status: 'Q',
  /** Register 1, 2 hex digits; bit 0x40 = the UPS has its load off. */
  register1: '~',
  /** Register 3, 2 hex digits; bit 0x08 = a reset (shutdown and return) is under way. */
  register3: '8',
  /** Shutdown grace delay (seconds, 3 digits); `-` steps to the next value. */
  shutdownDelay: 'p',
  /** Wake-up delay (seconds, 3 digits); `-` steps to the next value. */
  wakeupDelay: 'r',
  /** Step the last variable read to its next value. */
  next: '-',
  /** Load off at once. Must be sent twice, at least 1.5 s apart. */
  loadOff: 'Z',
  /** Load on (^N). Must be sent twice, at least 1.5 s apart; no reply. */
  loadOn: '\x0e',
  /** Shut down after the grace delay and come back (`@` + 3 digits); reply `OK` or `*`. */
  shutdownReturn: '@000',
  /** Shut down when on battery and stay off until mains returns; `NA` on line power. */
  shutdownOnBattery: 'S',
} as const

export const SMART_OK = 'SM'
export const NOT_AVAILABLE = 'NA'

/** Register 1 (`~`) bit: the load is off. */
export const REG1_LOAD_OFF = 0x40
/** Register 3 (`8`) bit: a shutdown-and-return is under way. */
export const REG3_RESET = 0x08
/** Status (`Q`) bits. */
export const STATUS = { onLine: 0x08, onBattery: 0x10, lowBattery: 0x40 } as const

/** The twice-sent commands need this gap between the two bytes (NUT). */
export const REPEAT_MIN_MS = 1500

/** The delay values a Smart-UPS steps through with `-` (NUT's tables), in seconds. */
export const SHUTDOWN_DELAYS = ['020', '180', '300', '600'] as const
export const WAKEUP_DELAYS = ['000', '060', '180', '300'] as const

/** A register reply: exactly two hex digits, else null (never guess a state from noise). */
export function parseRegister(reply: string): number | null {
  return /^[0-9A-Fa-f]{2}$/.test(reply) ? Number.parseInt(reply, 16) : null
}

export function formatRegister(value: number): string {
  return (value & 0xff).toString(16).toUpperCase().padStart(2, '0')
}
