import { type Field, HaMsg, fieldBuf, fieldText } from './codec.js'

/**
 * The control fields every heartbeat 3 packet carries (add_control_msg_fields), read into types,
 * and the messages a fencegate member sends. Field names and encodings are heartbeat's: `seq`,
 * `hg`, `ts` and `dt` are hex; `firstseq`/`lastseq` of a retransmit request are decimal.
 */
export interface Control {
  type: string
  src: string
  generation: number
  /** Absent on NS_* messages (heartbeat gives them no sequence number). */
  seq?: number
  /** status: init | up | active | dead */
  st?: string
  /** The sender's deadtime in ms (`dt`), which we use as its dead timeout. */
  dtMs?: number
  dest?: string
  firstseq?: number
  lastseq?: number
  /** fencegate members: protocol version of our own extra fields. */
  fgv?: string
  /** fencegate members: the members whose fence devices this one reaches (and would fence). */
  fgfence?: string[]
  /** fencegate members: victims this one has fenced, `node:generation`. */
  fgfenced?: Map<string, number>
  /**
   * fencegate members with ping nodes: the ping nodes this one reaches now (`fgping`, names
   * separated by spaces, `-` for none: heartbeat refuses an empty value). Absent: not told.
   */
  fgping?: string[]
}

export const FG_PROTOCOL = '1'
const HEX = /^[0-9a-f]{1,15}$/i
const DEC = /^\d{1,15}$/

/** Read the control fields; undefined when a required one is missing or malformed. */
export function readControl(fields: readonly Field[]): Control | undefined {
  const type = fieldText(fields, 't')
  const src = fieldText(fields, 'src')?.toLowerCase()
  const hg = fieldText(fields, 'hg')
  const ts = fieldText(fields, 'ts')
  if (!type || !src || !hg || !HEX.test(hg) || !ts) return undefined
  const c: Control = { type, src, generation: Number.parseInt(hg, 16) }
  const seq = fieldText(fields, 'seq')
  if (seq !== undefined) {
    if (!HEX.test(seq)) return undefined
    c.seq = Number.parseInt(seq, 16)
  } else if (!type.startsWith('NS_')) return undefined
  const st = fieldText(fields, 'st')
  if (st !== undefined) c.st = st
  const dt = fieldText(fields, 'dt')
  if (dt !== undefined && HEX.test(dt)) c.dtMs = Number.parseInt(dt, 16)
  const dest = fieldText(fields, 'dest')
  if (dest !== undefined) c.dest = dest.toLowerCase()
  const first = fieldText(fields, 'firstseq')
  const last = fieldText(fields, 'lastseq')
  if (first !== undefined && DEC.test(first)) c.firstseq = Number(first)
  if (last !== undefined && DEC.test(last)) c.lastseq = Number(last)
  const fgv = fieldText(fields, 'fgv')
  if (fgv !== undefined) c.fgv = fgv
  const fence = fieldText(fields, 'fgfence')
  if (fence !== undefined) c.fgfence = fence.split(' ').filter(Boolean)
  const ping = fieldText(fields, 'fgping')
  if (ping !== undefined) c.fgping = ping.split(' ').filter((x) => x && x !== '-')
  const fenced = fieldText(fields, 'fgfenced')
  if (fenced !== undefined) {
    c.fgfenced = new Map()
    for (const item of fenced.split(' ')) {
      const m = /^([^:\s]+):([0-9a-f]{1,15})$/i.exec(item)
      if (m) c.fgfenced.set(m[1]!.toLowerCase(), Number.parseInt(m[2]!, 16))
    }
  }
  return c
}

export interface Sender {
  node: string
  uuid: Buffer
  generation: number
  nodeCount: number
}

/**
 * Fields after the message's own, in heartbeat's order. `ld` is the load average as heartbeat
 * sends it; `ttl` is vestigial since 3.0 but heartbeat always sends 1 + node count.
 */
function addControl(m: HaMsg, s: Sender, seq: number | undefined, loadavg: string): HaMsg {
  m.add('src', s.node).add('srcuuid', s.uuid)
  if (seq !== undefined) m.add('seq', seq.toString(16))
  m.add('hg', s.generation.toString(16)).add('ts', Math.floor(Date.now() / 1000).toString(16))
  if (seq !== undefined) m.add('ld', loadavg)
  return m.add('ttl', String(1 + s.nodeCount))
}

/**
 * Our status message. No `protocol` field: we do not implement heartbeat's flow control
 * (NS_ackmsg, reqnodes/repnodes), and its absence makes heartbeat peers turn theirs off.
 */
export function statusMsg(
  s: Sender,
  seq: number,
  o: {
    st: string
    dtMs: number
    fence?: readonly string[]
    fenced?: ReadonlyMap<string, number>
    /** The ping nodes we reach; undefined when we have none configured (no field sent). */
    ping?: readonly string[]
    loadavg: string
  },
): HaMsg {
  const m = new HaMsg()
    .add('t', 'status')
    .add('st', o.st)
    .add('dt', o.dtMs.toString(16))
    .add('fgv', FG_PROTOCOL)
  if (o.fence?.length) m.add('fgfence', o.fence.join(' '))
  if (o.fenced?.size) m.add('fgfenced', [...o.fenced].map(([n, g]) => `${n}:${g.toString(16)}`).join(' '))
  if (o.ping) m.add('fgping', o.ping.length ? o.ping.join(' ') : '-')
  return addControl(m, s, seq, o.loadavg)
}

/** Sent once on a clean stop, as heartbeat does: peers then know we left and must not be fenced. */
export function shutdoneMsg(s: Sender, seq: number, loadavg: string): HaMsg {
  return addControl(new HaMsg().add('t', 'shutdone').add('st', 'dead'), s, seq, loadavg)
}

/**
 * Our answer to a heartbeat R1 peer's `t=starting` (its resource handshake, nice_failback): we
 * hold only our own resources (none) and are stable. Without it a heartbeat node waits for us
 * forever, and even its clean shutdown is delayed "until current resource activity finishes".
 */
export function resourcesHeldMsg(s: Sender, seq: number, loadavg: string): HaMsg {
  return addControl(
    new HaMsg().add('t', 'resource').add('rsc_hold', 'local').add('rtype', 'full').add('isstable', '1'),
    s,
    seq,
    loadavg,
  )
}

/** Our answer when a peer asks for a packet we no longer hold (heartbeat: "Irretrievably lost"). */
export function nakRexmitMsg(s: Sender, dest: string, firstseq: number): HaMsg {
  return addControl(
    new HaMsg()
      .add('t', 'NS_nak_rexmit')
      .add('dest', dest)
      .add('firstseq', firstseq.toString(16))
      .add('info', 'not retained'),
    s,
    undefined,
    '',
  )
}

export { fieldBuf }
