import {
  Cmd,
  IpmiCodecError,
  type IpmiResponse,
  NetFn,
  PayloadType,
  type SessionKeys,
  SequenceWindow,
  closeSessionRequest,
  decodeResponse,
  encodeRequest,
  encodeV2Protected,
  nextSeq,
  openV2,
  parseV2,
  privilegeName,
  request,
} from '../../protocols/ipmi/index.js'
import { FenceError } from '../../core/errors.js'
import { completionError } from './errors.js'
import { BmcExchange, type SessionOptions } from './exchange.js'
import { Handshake } from './handshake.js'
import { UdpChannel } from './udp.js'

export type { SessionOptions } from './exchange.js'

/** Close Session is a courtesy: it never holds a result back for long. */
const CLOSE_BUDGET_MS = 1000

/**
 * One RMCP+ session with a BMC, for one driver call: the handshake (handshake.ts), Set Session
 * Privilege Level, commands, Close Session. After RAKP4 only packets that are authenticated and
 * encrypted, for our session id, with a fresh sequence number in the window are accepted;
 * anything else is ignored (and counted for the error, should no valid answer come).
 */
export class IpmiSession {
  private consoleSid = 0
  private bmcSid = 0
  private keys: SessionKeys | undefined
  private readonly window = new SequenceWindow(8, 32, false)
  private outSeq = 0
  private readonly o: SessionOptions

  private constructor(private readonly link: BmcExchange) {
    this.o = link.o
  }

  static async open(o: SessionOptions, signal: AbortSignal): Promise<IpmiSession> {
    const channel = await UdpChannel.open(o.host, o.port, o.label, signal)
    const s = new IpmiSession(new BmcExchange(o, channel))
    try {
      const est = await new Handshake(s.link).run(signal)
      s.consoleSid = est.consoleSid
      s.bmcSid = est.bmcSid
      s.keys = est.keys
      await s.setPrivilege(signal)
      return s
    } catch (e) {
      s.abandon()
      throw e
    }
  }

  get active(): boolean {
    return this.keys !== undefined
  }

  private async setPrivilege(signal: AbortSignal): Promise<void> {
    const { label, privilege } = this.o
    const rs = await this.command(
      NetFn.APP,
      Cmd.SET_SESSION_PRIVILEGE,
      Buffer.from([privilege]),
      'Set Session Privilege Level',
      signal,
    )
    if (rs.cc !== 0) {
      const e = completionError(rs.cc, `Set Session Privilege Level ${privilegeName(privilege)}`, label)
      throw new FenceError(e.code, `${e.message} for user ${this.o.user.toString('latin1')}`, e.details)
    }
    if (rs.data.length < 1 || (rs.data.readUInt8(0) & 0x0f) !== privilege)
      throw new FenceError('PROTOCOL_ERROR', `${label}: Set Session Privilege Level answered another level`)
  }

  /** A command inside the session. Resolves with any completion code: the caller decides. */
  command(
    netFn: number,
    cmd: number,
    data: Buffer,
    what: string,
    signal: AbortSignal,
    budgetMs?: number,
  ): Promise<IpmiResponse> {
    const keys = this.keys
    if (!keys) return Promise.reject(new FenceError('INTERNAL', `${this.o.label}: no session`))
    const rqSeq = this.link.nextRqSeq()
    const message = encodeRequest(request(netFn, cmd, rqSeq, data))
    return this.link.exchange(
      what,
      () => {
        this.outSeq = nextSeq(this.outSeq)
        return encodeV2Protected(
          keys,
          { payloadType: PayloadType.IPMI, sessionId: this.bmcSid, seq: this.outSeq },
          message,
        )
      },
      (pkt) => {
        const p = parseV2(pkt)
        if (p.payloadType !== PayloadType.IPMI)
          throw new IpmiCodecError(
            'payload-type',
            `payload type 0x${p.payloadType.toString(16)} inside the session`,
          )
        if (p.sessionId !== this.consoleSid)
          throw new IpmiCodecError('session', `packet for session ${p.sessionId}, not ours`)
        if (!p.authenticated || !p.encrypted)
          throw new IpmiCodecError('integrity', 'unauthenticated or unencrypted packet inside the session')
        const verdict = this.window.check(p.seq)
        if (verdict) throw new IpmiCodecError('sequence', `sequence number ${p.seq}: ${verdict}`)
        const plain = openV2(keys, p)
        this.window.accept(p.seq) // only now: a forged packet must not move the window
        const rs = decodeResponse(plain)
        if (!this.link.isAnswer(rs, netFn, cmd, rqSeq)) return undefined
        if (rs.cc === 0xcf) return undefined // "duplicate request": the answer to the first copy counts
        return rs
      },
      signal,
      budgetMs,
    )
  }

  /** Close the session (best effort, briefly) and the socket. Never throws. */
  async close(signal: AbortSignal): Promise<void> {
    if (this.keys && !signal.aborted) {
      try {
        const rs = await this.command(
          NetFn.APP,
          Cmd.CLOSE_SESSION,
          closeSessionRequest(this.bmcSid),
          'Close Session',
          signal,
          Math.min(CLOSE_BUDGET_MS, this.o.requestTimeoutMs),
        )
        if (rs.cc !== 0) this.o.log('debug', 'Close Session refused', { device: this.o.label, cc: rs.cc })
      } catch (e) {
        this.o.log('debug', 'Close Session not answered', {
          device: this.o.label,
          error: (e as Error).message,
        })
      }
      this.keys = undefined
    }
    this.abandon()
  }

  /** Give up at once (an aborted call): one Close Session datagram without waiting, then the socket. */
  abandon(): void {
    if (this.keys) {
      const keys = this.keys
      this.keys = undefined
      this.outSeq = nextSeq(this.outSeq)
      const message = encodeRequest(
        request(NetFn.APP, Cmd.CLOSE_SESSION, this.link.nextRqSeq(), closeSessionRequest(this.bmcSid)),
      )
      this.link.channel.send(
        encodeV2Protected(
          keys,
          { payloadType: PayloadType.IPMI, sessionId: this.bmcSid, seq: this.outSeq },
          message,
        ),
      )
    }
    this.link.channel.close()
  }
}
