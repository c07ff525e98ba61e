/**
 * The Night/Ware (Micro Energetics) RPC-100S serial protocol, shared by the driver
 * (drivers/nw-rpc100s) and the mock firmware (firmware-mocks/nw-rpc100s).
 *
 * One outlet, 9600 8N1, no flow control (RTS is wired high). The unit takes one command, printed
 * on a sticker under the unit:
 *
 *   //0,<wait>,<time>[/m][/h]<CR>
 *
 * `<wait>`: seconds before the relay acts; `<time>`: how long the relay stays activated, `*` for
 * ever, `0` back to its default state at once. `/m` or `/h` count both in minutes or hours. The
 * relay's default state is ON (the outlet is powered) unless the "default OFF" DIP switch is set,
 * which inverts every command — clients must leave it unset.
 *
 * Replies: `\r\nOK\r\n`, or `\r\nInvalid Entry\r\n` for anything the unit cannot parse. There is
 * no status command: the unit can never say whether its outlet is on.
 *
 * cluster-glue's nw_rpc100s (the reference client) ends its commands with `;` and sends on
 * `//0,0,0;`, off `//0,0,*;`, reboot `//0,0,10;`, and as a liveness probe `//0,0,BOGUS;`, which
 * the unit must answer `Invalid Entry` — the only round trip that proves the unit answers
 * without switching anything. (Its bytes on the wire are `//0,0,*;\r\n\r`: it appends `\r` to a
 * string that already ends in `\r\n`.)
 */

export const BAUD = 9600
export const OK = 'OK'
export const INVALID_ENTRY = 'Invalid Entry'
/** Every reply is framed by CR LF on both sides. */
export const reply = (text: string): string => `\r\n${text}\r\n`

/** The one plug of the unit (its single switched outlet). */
export const OUTLET = 'outlet'

/** The commands fencegate sends, as cluster-glue does (the `;` included: it works on real units). */
export const COMMAND = {
  on: '//0,0,0;',
  off: '//0,0,*;',
  /** Not a command: the unit must answer `Invalid Entry`. */
  probe: '//0,0,BOGUS;',
  /** Off for `seconds` (1-999), then on again: the unit's own cycle. */
  cycle: (seconds: number): string => `//0,0,${seconds};`,
} as const

export type TimeUnit = 's' | 'm' | 'h'
export const UNIT_MS: Record<TimeUnit, number> = { s: 1000, m: 60_000, h: 3_600_000 }

/** A parsed command: after `wait` units, activate the relay for `time` units (`forever`), or release it (0). */
export interface RelayCommand {
  wait: number
  time: number | 'forever'
  unit: TimeUnit
}

const GRAMMAR = /^\/\/0,(?<wait>\d{1,3}),(?<time>\d{1,3}|\*)(?<unit>\/m|\/h)?;?$/

/** Parse one command line (without its CR); undefined = `Invalid Entry`. */
export function parseCommand(line: string): RelayCommand | undefined {
  const m = GRAMMAR.exec(line)
  if (!m?.groups) return undefined
  const { wait, time, unit } = m.groups
  return {
    wait: Number(wait),
    time: time === '*' ? 'forever' : Number(time),
    unit: unit === '/m' ? 'm' : unit === '/h' ? 'h' : 's',
  }
}
