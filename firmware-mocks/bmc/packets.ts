import type { IpmiRequest, IpmiResponse } from '../../protocols/ipmi/index.js'
import type { BmcSession, SessionTable } from './sessions.js'

/** One datagram the BMC received, and what it did with it: for tests and the control API. */
export interface BmcRecord {
  at: number
  peer: string
  framing: 'asf' | 'v15' | 'v20'
  /** `command` (an IPMI message), `open`, `rakp1`, `rakp3`, `ping`, or `invalid`. */
  kind: 'command' | 'open' | 'rakp1' | 'rakp3' | 'ping' | 'invalid'
  sessionId?: number
  netFn?: number
  cmd?: number
  rqSeq?: number
  /** Open Session: the cipher suite the client proposed (when it is one of ours). */
  suite?: number
  /** Completion code, or RAKP/Open Session status, of the answer. */
  status?: number
  answered: boolean
  /** Why it got no answer, or which fault touched it. */
  note?: string
}

/** What the BMC is about to send, for the rogue-BMC tests' `tamper` hook. */
export interface Outgoing {
  kind: 'pong' | 'sessionless' | 'open' | 'rakp2' | 'rakp4' | 'session'
  bytes: Buffer
  peer: string
  session?: BmcSession
  request?: IpmiRequest
  response?: IpmiResponse
}

/** What the packet handlers use of the BMC: its sessions, its record, its command answers. */
export interface BmcPackets {
  readonly sessions: SessionTable
  record(r: Omit<BmcRecord, 'at'>): BmcRecord
  answer(rq: IpmiRequest, session: BmcSession | undefined): IpmiResponse
}
