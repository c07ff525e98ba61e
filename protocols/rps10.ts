/**
 * The WTI RPS-10(M) serial protocol, shared by the driver (drivers/rps10) and the mock firmware
 * (firmware-mocks/rps10), so that a disagreement shows up once, in a test against a real client.
 *
 * Request, 9 bytes: `02 18 18 02 18 18 <unit> <cmd> 0D` — the fixed "password" ^B^X^X^B^X^X,
 * a unit address `0`–`9` (or `*`: every unit of the daisy chain), a command, CR.
 * Commands: `0` off, `1` on, `T` toggle (off, 5 or 10 s by DIP switch, on), `?` status.
 * Replies, one line per unit, then `Complete`:
 *
 *   Plug 3 Off         Plug 3 Off                Plug 3 On
 *   Complete           Plug 3 On                 Complete
 *                      Complete
 *
 * Lines end `\r\n` or `\n\r` (units differ; clients accept both). After a DTR reset a unit says
 * `RPS-10 Ready`.
 */

export const PASSWORD = Buffer.from([0x02, 0x18, 0x18, 0x02, 0x18, 0x18])

export const UNITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const
export type Unit = (typeof UNITS)[number]
/** A unit or every unit of the chain. */
export type Address = Unit | '*'

export type Rps10Command = '0' | '1' | 'T' | '?'
export const COMMANDS: Record<Rps10Command, string> = { '0': 'off', '1': 'on', T: 'toggle', '?': 'status' }

export const READY = 'RPS-10 Ready'
export const COMPLETE = 'Complete'
/** Bytes of one request on the wire. */
export const FRAME_LENGTH = PASSWORD.length + 3
/** The serial speeds a unit offers (DIP switch). */
export const BAUD_RATES = [9600, 2400] as const
/** The toggle delays a unit offers (DIP switch), ms. */
export const TOGGLE_DELAYS_MS = [5000, 10_000] as const

export function isUnit(s: string): s is Unit {
  return (UNITS as readonly string[]).includes(s)
}

export function encodeRequest(address: Address, cmd: Rps10Command): Buffer {
  return Buffer.concat([PASSWORD, Buffer.from(`${address}${cmd}\r`, 'latin1')])
}

/** Time a byte takes on an 8N1 line (start + 8 data + stop = 10 bits), ms. */
export function byteTimeMs(baud: number): number {
  return 10_000 / baud
}

// ---------------------------------------------------------------- device side (the mock)

export interface DecodedRequest {
  address: Address | string
  cmd: string
}

/**
 * Find requests in what a unit received: scan for the password anywhere (powerman sends an
 * extra `^X^X` first; line noise may precede it), then take the address and command bytes and
 * the CR. Returns the requests and the bytes to keep for the next read (a partial frame).
 * Bytes before a password are noise and dropped, as a unit would.
 */
export function scanRequests(buf: Buffer): { requests: DecodedRequest[]; rest: Buffer } {
  const requests: DecodedRequest[] = []
  let at = 0
  for (;;) {
    const p = buf.indexOf(PASSWORD, at)
    if (p < 0) {
      // keep a tail that could be the start of a password split across reads
      const keep = Math.min(buf.length - at, PASSWORD.length - 1)
      let tail = buf.length
      for (let k = keep; k > 0; k--)
        if (buf.subarray(buf.length - k).equals(PASSWORD.subarray(0, k))) {
          tail = buf.length - k
          break
        }
      return { requests, rest: buf.subarray(tail) }
    }
    if (buf.length < p + FRAME_LENGTH) return { requests, rest: buf.subarray(p) }
    const address = String.fromCharCode(buf[p + 6]!)
    const cmd = String.fromCharCode(buf[p + 7]!)
    const cr = buf[p + 8]
    // A frame without its CR is not a command: skip this password and look again after it.
    if (cr === 0x0d) requests.push({ address, cmd })
    at = cr === 0x0d ? p + FRAME_LENGTH : p + 1
  }
}

export function plugLine(unit: Unit, state: 'on' | 'off'): string {
  return `Plug ${unit} ${state === 'on' ? 'On' : 'Off'}`
}

// ---------------------------------------------------------------- client side (the driver)

export type ReplyLine =
  | { kind: 'plug'; unit: Unit; state: 'on' | 'off' }
  | { kind: 'complete' }
  | { kind: 'ready' }
  | { kind: 'blank' }
  | { kind: 'other'; text: string }

const PLUG_RE = /^Plug ([0-9]) (On|Off)$/

/**
 * Classify one line as the unit sent it (line ending already removed; stray CR or LF from the
 * other ending order stripped). Strict: anything off the grammar is `other`.
 */
export function classifyLine(raw: string): ReplyLine {
  const line = raw.replace(/^[\r\n]+|[\r\n]+$/g, '').trim()
  if (line === '') return { kind: 'blank' }
  if (line === COMPLETE) return { kind: 'complete' }
  if (line === READY) return { kind: 'ready' }
  const m = PLUG_RE.exec(line)
  if (m) return { kind: 'plug', unit: m[1] as Unit, state: m[2] === 'On' ? 'on' : 'off' }
  return { kind: 'other', text: line }
}

export type ReplyCheck =
  | { ok: true; plugs: Map<Unit, 'on' | 'off'> }
  | { ok: false; reason: 'wrong-unit' | 'wrong-state' | 'conflict' | 'missing' | 'garbage'; message: string }

/**
 * Judge a complete reply (the `Plug` lines received before `Complete`) against the request.
 * - For one unit, every `Plug` line must name that unit: a reply for another plug is a protocol
 *   error, never taken as this plug's state.
 * - `0`/`1` must report the commanded state when they report one (some units print no line
 *   for `1`, cluster-glue notes; a missing line is accepted since the engine reads state back).
 * - `T` reports Off then On.
 * - `?` must report the unit asked (for `*`, each unit at most once, consistently).
 */
export function checkReply(address: Address, cmd: Rps10Command, lines: readonly ReplyLine[]): ReplyCheck {
  const plugs = new Map<Unit, 'on' | 'off'>()
  const seen: { unit: Unit; state: 'on' | 'off' }[] = []
  for (const l of lines) {
    if (l.kind === 'other')
      return { ok: false, reason: 'garbage', message: `unreadable line ${quote(l.text)}` }
    if (l.kind !== 'plug') continue
    if (address !== '*' && l.unit !== address)
      return {
        ok: false,
        reason: 'wrong-unit',
        message: `answered for plug ${l.unit}, asked about plug ${address}`,
      }
    seen.push(l)
  }
  if (cmd === 'T') {
    // per unit: Off, then On
    const byUnit = new Map<Unit, string>()
    for (const s of seen) byUnit.set(s.unit, (byUnit.get(s.unit) ?? '') + (s.state === 'on' ? '1' : '0'))
    for (const [unit, seq] of byUnit)
      if (seq !== '01')
        return { ok: false, reason: 'wrong-state', message: `toggle of plug ${unit} reported ${seq}` }
    for (const u of byUnit.keys()) plugs.set(u, 'on')
  } else {
    for (const s of seen) {
      const before = plugs.get(s.unit)
      if (before !== undefined && before !== s.state)
        return { ok: false, reason: 'conflict', message: `plug ${s.unit} reported both on and off` }
      if (before !== undefined)
        return { ok: false, reason: 'conflict', message: `plug ${s.unit} reported twice` }
      if (cmd !== '?' && s.state !== (cmd === '1' ? 'on' : 'off'))
        return {
          ok: false,
          reason: 'wrong-state',
          message: `plug ${s.unit} reported ${s.state} after ${COMMANDS[cmd]}`,
        }
      plugs.set(s.unit, s.state)
    }
    if (cmd === '?' && address !== '*' && !plugs.has(address))
      return { ok: false, reason: 'missing', message: `no state reported for plug ${address}` }
  }
  return { ok: true, plugs }
}

/** For error messages: printable, bounded, control bytes escaped. */
export function quote(s: string, max = 80): string {
  const cut = s.length > max ? `${s.slice(0, max)}…` : s
  return JSON.stringify(cut)
}
