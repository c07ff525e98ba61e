import {
  AuthType,
  BMC_ADDR,
  PayloadType,
  type V2Packet,
  decodeOpenSessionRequest,
  decodeRakp1,
  decodeRakp3,
  decodeRequest,
  decodeV15,
  encodeOpenSessionResponse,
  encodeRakp2,
  encodeRakp4,
  encodeResponse,
  encodeV15,
  encodeV2Plain,
  suiteIdOf,
} from '../../protocols/ipmi/index.js'
import { isSessionless } from './commands.js'
import type { BmcPackets, Outgoing } from './packets.js'

/**
 * What the BMC answers outside a session: session-less commands (in IPMI v1.5 or v2.0 framing)
 * and the RMCP+ set-up, Open Session and RAKP 1 and 3 (the state machine is sessions.ts).
 */
/** IPMI v1.5 framing: session-less commands only; there are no v1.5 sessions on this BMC. */
export function handleV15(bmc: BmcPackets, msg: Buffer, peer: string): Outgoing[] {
  const p = decodeV15(msg)
  const rq = decodeRequest(p.message)
  const base = {
    peer,
    framing: 'v15' as const,
    kind: 'command' as const,
    netFn: rq.netFn,
    cmd: rq.cmd,
    rqSeq: rq.rqSeq,
  }
  if (
    p.authType !== AuthType.NONE ||
    p.sessionId !== 0 ||
    !isSessionless(rq.netFn, rq.cmd) ||
    rq.rsAddr !== BMC_ADDR
  ) {
    bmc.record({ ...base, answered: false, note: 'IPMI v1.5 sessions are not supported' })
    return []
  }
  const rs = bmc.answer(rq, undefined)
  bmc.record({ ...base, status: rs.cc, answered: true })
  const bytes = encodeV15({ authType: AuthType.NONE, seq: 0, sessionId: 0, message: encodeResponse(rs) })
  return [{ kind: 'sessionless', bytes, peer, request: rq, response: rs }]
}

export function handlePreSession(bmc: BmcPackets, p: V2Packet, peer: string): Outgoing[] {
  // OpenIPMI drops session-id-0 packets that claim encryption or authentication; so do we
  if (p.authenticated || p.encrypted) {
    bmc.record({
      peer,
      framing: 'v20',
      kind: 'invalid',
      answered: false,
      note: 'flags on a session-less packet',
    })
    return []
  }
  const plain = (payloadType: number, payload: Buffer) =>
    encodeV2Plain({ payloadType, sessionId: 0, seq: 0 }, payload)
  switch (p.payloadType) {
    case PayloadType.IPMI: {
      const rq = decodeRequest(p.payload)
      const base = {
        peer,
        framing: 'v20' as const,
        kind: 'command' as const,
        netFn: rq.netFn,
        cmd: rq.cmd,
        rqSeq: rq.rqSeq,
      }
      if (!isSessionless(rq.netFn, rq.cmd) || rq.rsAddr !== BMC_ADDR) {
        bmc.record({ ...base, answered: false, note: 'needs a session' })
        return []
      }
      const rs = bmc.answer(rq, undefined)
      bmc.record({ ...base, status: rs.cc, answered: true })
      return [
        {
          kind: 'sessionless',
          bytes: plain(PayloadType.IPMI, encodeResponse(rs)),
          peer,
          request: rq,
          response: rs,
        },
      ]
    }
    case PayloadType.OPEN_SESSION_REQUEST: {
      const rq = decodeOpenSessionRequest(p.payload)
      const rs = bmc.sessions.open(rq, peer)
      bmc.record({
        peer,
        framing: 'v20',
        kind: 'open',
        suite: suiteIdOf(rq),
        status: rs.status,
        answered: true,
      })
      const bytes = plain(PayloadType.OPEN_SESSION_RESPONSE, encodeOpenSessionResponse(rs))
      return [{ kind: 'open', bytes, peer, session: rs.bmcSid ? bmc.sessions.get(rs.bmcSid) : undefined }]
    }
    case PayloadType.RAKP1: {
      const m = decodeRakp1(p.payload)
      return rakpStep(bmc, peer, 'rakp1', m.bmcSid, bmc.sessions.rakp1(m, peer), (rs) =>
        plain(PayloadType.RAKP2, encodeRakp2(rs)),
      )
    }
    case PayloadType.RAKP3: {
      const m = decodeRakp3(p.payload)
      return rakpStep(bmc, peer, 'rakp3', m.bmcSid, bmc.sessions.rakp3(m, peer), (rs) =>
        plain(PayloadType.RAKP4, encodeRakp4(rs)),
      )
    }
    default:
      bmc.record({
        peer,
        framing: 'v20',
        kind: 'invalid',
        answered: false,
        note: `payload type 0x${p.payloadType.toString(16)}`,
      })
      return []
  }
}

/** RAKP 1 → 2 and RAKP 3 → 4: recorded either way; answered only when the session table answers. */
function rakpStep<R extends { status: number }>(
  bmc: BmcPackets,
  peer: string,
  kind: 'rakp1' | 'rakp3',
  bmcSid: number,
  rs: R | undefined,
  encode: (rs: R) => Buffer,
): Outgoing[] {
  bmc.record({ peer, framing: 'v20', kind, sessionId: bmcSid, status: rs?.status, answered: !!rs })
  if (!rs) return []
  const session = bmc.sessions.get(bmcSid)
  return [{ kind: kind === 'rakp1' ? 'rakp2' : 'rakp4', bytes: encode(rs), peer, session }]
}
