import { performance } from 'node:perf_hooks'
import {
  BMC_ADDR,
  type CipherProfile,
  IpmiCodecError,
  type IpmiResponse,
  PayloadType,
  REMOTE_CONSOLE_ADDR,
  decodeResponse,
  decodeV15,
  encodeRequest,
  encodeV15,
  parseV2,
  request,
  secureRandom,
  sessionFormat,
} from '../../protocols/ipmi/index.js'
import { FenceError } from '../../core/errors.js'
import type { DriverContext } from '../driver.js'
import type { UdpChannel } from './udp.js'

/** What a session needs; the secrets stay in memory and never reach a message. */
export interface SessionOptions {
  host: string
  port: number
  /** `bmc3 (10.0.1.3:623)`, for messages. */
  label: string
  user: Buffer
  password: Buffer
  kg?: Buffer
  profile: CipherProfile
  privilege: number
  unreachableTimeoutMs: number
  requestTimeoutMs: number
  retransmitMs: number
  log: DriverContext['log']
  /** Warn about the BMC's set-up once per driver, not once per session. */
  warnOnce(key: string, msg: string): void
}

const MAX_RETRANSMIT_MS = 1000

/**
 * The datagram exchange with one BMC that the handshake and the session share: request
 * sequence numbers and message tags, send-and-resend with backoff until an answer is accepted,
 * and the session-less commands of the set-up. Knows no keys: what counts as an answer is the
 * caller's `match`.
 */
export class BmcExchange {
  private rqSeq = secureRandom(1).readUInt8(0) & 0x3f
  private tag = secureRandom(1).readUInt8(0)
  /** Has the BMC sent us anything at all in this session? Until then, silence means unreachable. */
  private heard = false

  constructor(
    readonly o: SessionOptions,
    readonly channel: UdpChannel,
  ) {}

  nextRqSeq(): number {
    this.rqSeq = (this.rqSeq + 1) & 0x3f
    return this.rqSeq
  }

  nextTag(): number {
    this.tag = (this.tag + 1) & 0xff
    return this.tag
  }

  /**
   * Send (and resend with backoff) until `match` accepts an answer. `match` returns undefined
   * for a packet that is not the answer (late answers to earlier requests), throws a
   * FenceError for an answer that refuses, and an IpmiCodecError for garbage or forgeries.
   */
  async exchange<T>(
    what: string,
    build: () => Buffer,
    match: (pkt: Buffer) => T | undefined,
    signal: AbortSignal,
    budgetMs?: number,
  ): Promise<T> {
    const start = performance.now()
    const rejected = new Map<string, number>()
    let rto = this.o.retransmitMs
    let tries = 0
    const budget = () => budgetMs ?? (this.heard ? this.o.requestTimeoutMs : this.o.unreachableTimeoutMs)
    while (performance.now() - start < budget()) {
      this.channel.send(build())
      tries++
      const until = performance.now() + rto
      rto = Math.min(rto * 2, MAX_RETRANSMIT_MS)
      for (;;) {
        const left = Math.min(until, start + budget()) - performance.now()
        if (left <= 0) break
        let pkt: Buffer | undefined
        try {
          pkt = await this.channel.receive(left, signal)
        } catch (e) {
          if (e instanceof FenceError && e.code === 'CONNECTION_LOST' && !this.heard)
            throw new FenceError('DEVICE_UNREACHABLE', e.message)
          throw e
        }
        if (!pkt) break
        this.heard = true
        try {
          const r = match(pkt)
          if (r !== undefined) return r
        } catch (e) {
          if (!(e instanceof IpmiCodecError)) throw e
          rejected.set(e.reason, (rejected.get(e.reason) ?? 0) + 1)
          this.o.log('debug', 'ignored a packet from the BMC', {
            device: this.o.label,
            what,
            reason: e.message,
          })
        }
      }
    }
    const ms = Math.round(performance.now() - start)
    if (!this.heard)
      throw new FenceError(
        'DEVICE_UNREACHABLE',
        `${this.o.label}: no answer at all within ${ms}ms (${tries} tries)`,
      )
    if (rejected.size > 0) {
      const why = [...rejected].map(([r, n]) => `${n} ${r}`).join(', ')
      throw new FenceError(
        'PROTOCOL_ERROR',
        `${this.o.label}: no valid answer to ${what} within ${ms}ms; packets refused: ${why}`,
      )
    }
    throw new FenceError(
      'DEVICE_TIMEOUT',
      `${this.o.label}: no answer to ${what} within ${ms}ms (${tries} tries)`,
    )
  }

  isAnswer(rs: IpmiResponse, netFn: number, cmd: number, rqSeq: number): boolean {
    return (
      rs.netFn === netFn + 1 &&
      rs.cmd === cmd &&
      rs.rqSeq === rqSeq &&
      rs.rqAddr === REMOTE_CONSOLE_ADDR &&
      rs.rsAddr === BMC_ADDR
    )
  }

  /** A session-less command in IPMI v1.5 framing (auth type none), as ipmi_sim and real BMCs answer it. */
  sessionless(netFn: number, cmd: number, data: Buffer, what: string, signal: AbortSignal) {
    const rqSeq = this.nextRqSeq()
    const message = encodeRequest(request(netFn, cmd, rqSeq, data))
    const bytes = encodeV15({ authType: 0, seq: 0, sessionId: 0, message })
    return this.exchange(
      what,
      () => bytes,
      (pkt) => {
        let m: Buffer
        if (sessionFormat(pkt) === 'v15') {
          const p = decodeV15(pkt)
          if (p.sessionId !== 0) return undefined
          m = p.message
        } else {
          const p = parseV2(pkt)
          if (p.sessionId !== 0 || p.payloadType !== PayloadType.IPMI || p.authenticated || p.encrypted)
            return undefined
          m = p.payload
        }
        const rs = decodeResponse(m)
        return this.isAnswer(rs, netFn, cmd, rqSeq) ? rs : undefined
      },
      signal,
    )
  }
}
