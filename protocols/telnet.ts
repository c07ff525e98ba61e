/**
 * A minimal TELNET (RFC 854/855) option negotiator and NVT codec, shared by the telnet transport
 * (drivers/transport/telnet-stream.ts) and the menu-device mocks. It does what a power switch's
 * dialogue needs and nothing more:
 *
 * - strips every command from the data: `IAC IAC` is a data byte 0xFF, `IAC <verb> <opt>` is
 *   negotiation, `IAC SB … IAC SE` is skipped whole, two-byte commands (NOP, GA, AYT…) are dropped;
 * - answers DO/DONT/WILL/WONT from a fixed policy, acknowledging only state changes, so two
 *   parties can never loop (RFC 854 "don't acknowledge a mode you are already in", RFC 1143 idea);
 * - turns received `CR NUL` into `CR` (NVT carriage return), and on encode escapes 0xFF and sends
 *   a lone CR as `CR NUL` unless BINARY is on in that direction.
 *
 * State lives in the instance and survives chunk boundaries anywhere (a command split across
 * TCP segments).
 */

export const IAC = 255
export const DONT = 254
export const DO = 253
export const WONT = 252
export const WILL = 251
export const SB = 250
export const SE = 240

export const OPT = { BINARY: 0, ECHO: 1, SGA: 3, TTYPE: 24, NAWS: 31, LINEMODE: 34 } as const

export interface TelnetPolicy {
  /** Options this side agrees to perform (answer DO with WILL). */
  local: readonly number[]
  /** Options this side agrees the peer performs (answer WILL with DO). */
  remote: readonly number[]
}

type State = 'data' | 'iac' | 'verb' | 'sb' | 'sb-iac'

/** Negotiation bookkeeping and byte-level decode/encode for one connection. */
export class TelnetCodec {
  /** Options we perform now. */
  readonly localOn = new Set<number>()
  /** Options the peer performs now. */
  readonly remoteOn = new Set<number>()
  private readonly pendingLocal = new Set<number>()
  private readonly pendingRemote = new Set<number>()
  private state: State = 'data'
  private verb = 0
  private lastWasCr = false
  /** Bytes of one subnegotiation are skipped; bound how many (a peer that never sends SE). */
  private sbLength = 0

  constructor(
    private readonly policy: TelnetPolicy,
    /** Where negotiation replies go (straight to the socket, unescaped: they are commands). */
    private readonly reply: (bytes: Buffer) => void,
  ) {}

  /** Ask to perform an option ourselves (IAC WILL opt); the peer's DO/DONT settles it. */
  offer(opt: number): void {
    if (this.localOn.has(opt) || this.pendingLocal.has(opt)) return
    this.pendingLocal.add(opt)
    this.reply(Buffer.from([IAC, WILL, opt]))
  }

  /** Ask the peer to perform an option (IAC DO opt). */
  ask(opt: number): void {
    if (this.remoteOn.has(opt) || this.pendingRemote.has(opt)) return
    this.pendingRemote.add(opt)
    this.reply(Buffer.from([IAC, DO, opt]))
  }

  /** Data bytes of a received chunk; negotiation is answered on the side. */
  decode(chunk: Buffer): Buffer {
    const out: number[] = []
    for (const b of chunk) {
      switch (this.state) {
        case 'data':
          if (b === IAC) this.state = 'iac'
          else if (b === 0 && this.lastWasCr)
            this.lastWasCr = false // CR NUL = CR
          else {
            out.push(b)
            this.lastWasCr = b === 13
          }
          break
        case 'iac':
          if (b === IAC) {
            out.push(IAC)
            this.lastWasCr = false
            this.state = 'data'
          } else if (b === DO || b === DONT || b === WILL || b === WONT) {
            this.verb = b
            this.state = 'verb'
          } else if (b === SB) {
            this.sbLength = 0
            this.state = 'sb'
          } else this.state = 'data' // NOP, GA, AYT, SE out of place…: dropped
          break
        case 'verb':
          this.negotiate(this.verb, b)
          this.state = 'data'
          break
        case 'sb':
          if (b === IAC) this.state = 'sb-iac'
          else if (++this.sbLength > 4096) this.state = 'data'
          break
        case 'sb-iac':
          // IAC SE ends it; IAC IAC is a data byte inside it; anything else: the peer is confused
          this.state = b === SE ? 'data' : b === IAC ? 'sb' : 'data'
          break
      }
    }
    return Buffer.from(out)
  }

  /** Bytes to put on the wire for `data`: 0xFF doubled, a lone CR as CR NUL outside BINARY. */
  encode(data: Buffer): Buffer {
    const binary = this.localOn.has(OPT.BINARY)
    const out: number[] = []
    for (let i = 0; i < data.length; i++) {
      const b = data[i]!
      out.push(b)
      if (b === IAC) out.push(IAC)
      else if (b === 13 && !binary && data[i + 1] !== 10) out.push(0)
    }
    return Buffer.from(out)
  }

  private negotiate(verb: number, opt: number): void {
    const send = (v: number) => this.reply(Buffer.from([IAC, v, opt]))
    if (verb === DO) {
      if (this.pendingLocal.delete(opt) || this.localOn.has(opt)) this.localOn.add(opt)
      else if (this.policy.local.includes(opt)) {
        this.localOn.add(opt)
        send(WILL)
      } else send(WONT)
    } else if (verb === DONT) {
      const wasPending = this.pendingLocal.delete(opt)
      if (this.localOn.delete(opt) && !wasPending) send(WONT)
    } else if (verb === WILL) {
      if (this.pendingRemote.delete(opt) || this.remoteOn.has(opt)) this.remoteOn.add(opt)
      else if (this.policy.remote.includes(opt)) {
        this.remoteOn.add(opt)
        send(DO)
      } else send(DONT)
    } else if (verb === WONT) {
      const wasPending = this.pendingRemote.delete(opt)
      if (this.remoteOn.delete(opt) && !wasPending) send(DONT)
    }
  }
}
