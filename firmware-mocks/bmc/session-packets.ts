import {
  BMC_ADDR,
  PayloadType,
  type V2Packet,
  decodeRequest,
  encodeResponse,
  encodeV2Protected,
  openV2,
} from '../../protocols/ipmi/index.js'
import type { BmcPackets, Outgoing } from './packets.js'

/**
 * A packet inside an active session: only from the session's own address, authenticated and
 * encrypted under its keys, with a sequence number in the window; anything else is dropped.
 */
export function handleSession(bmc: BmcPackets, p: V2Packet, peer: string): Outgoing[] {
  const s = bmc.sessions.get(p.sessionId)
  const drop = (note: string): Outgoing[] => {
    bmc.record({ peer, framing: 'v20', kind: 'invalid', sessionId: p.sessionId, answered: false, note })
    return []
  }
  if (s?.state !== 'active' || !s.keys) return drop('no such active session')
  if (s.peer !== peer) return drop('session belongs to another address')
  if (p.payloadType !== PayloadType.IPMI) return drop(`payload type 0x${p.payloadType.toString(16)}`)
  const verdict = s.window.check(p.seq)
  if (verdict) return drop(`sequence number ${p.seq}: ${verdict}`)
  const plain = openV2(s.keys, p) // throws on a bad AuthCode or unencrypted packet: dropped
  s.window.accept(p.seq)
  bmc.sessions.touch(s)
  const rq = decodeRequest(plain)
  if (rq.rsAddr !== BMC_ADDR) return drop('not addressed to the BMC')
  const rs = bmc.answer(rq, s)
  bmc.record({
    peer,
    framing: 'v20',
    kind: 'command',
    sessionId: p.sessionId,
    netFn: rq.netFn,
    cmd: rq.cmd,
    rqSeq: rq.rqSeq,
    status: rs.cc,
    answered: true,
  })
  const bytes = encodeV2Protected(
    s.keys,
    { payloadType: PayloadType.IPMI, sessionId: s.consoleSid, seq: bmc.sessions.nextOut(s) },
    encodeResponse(rs),
  )
  // Close Session is answered under the session's keys, then the session is gone
  if (
    rq.netFn === 0x06 &&
    rq.cmd === 0x3c &&
    rs.cc === 0 &&
    rq.data.length >= 4 &&
    rq.data.readUInt32LE(0) === s.bmcSid
  )
    bmc.sessions.remove(s.bmcSid)
  return [{ kind: 'session', bytes, peer, session: s, request: rq, response: rs }]
}
