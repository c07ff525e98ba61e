/**
 * The Linux-HA heartbeat 3 message ("ha_msg") and its two wire encodings, byte-compatible with
 * heartbeat 3.0.6 + cluster-glue (see shared/reference/heartbeat-corosync.md §1):
 *
 * - netstring: `###\n` + `<len>:(<type>)name=value,`… + `%%%\n` + `<len>:<authnum> <hex>,`.
 *   What heartbeat sends on UDP media. The trailer digest covers `###\n` … `%%%\n`.
 * - classic: `>>>\n` + `name=value\n`… + `<<<\n`. What heartbeat sends on serial lines (and older
 *   glue on UDP, with a trailing NUL). The `auth` field inside covers every other line.
 *
 * Decoding keeps the signed bytes exactly as received, so authentication never depends on our
 * re-serialisation matching the sender's. Nothing here trusts its input: every malformed
 * packet becomes a DecodeError (the caller counts and drops it), never an exception of another kind.
 */

/** Field types of cluster-glue: 0 string, 1 binary, 2 struct, 3 list, 4 compress, 5 uncompress. */
export type FieldType = 0 | 1 | 2 | 3 | 4 | 5

export interface Field {
  name: string
  type: FieldType
  /** Strings and binaries decoded; other types kept as their raw wire text (we never interpret them). */
  value: Buffer
}

export type WireFormat = 'netstring' | 'classic'

export interface DecodedMsg {
  format: WireFormat
  fields: Field[]
  /** The authentication string (`<authnum> <hexdigest>`): the netstring trailer, or the classic `auth` field. */
  auth?: string
  /** The bytes the auth digest covers, exactly as received. */
  signed: Buffer
}

export class DecodeError extends Error {
  constructor(
    /** Short machine reason, used as a metric label. */
    readonly reason: 'truncated' | 'oversize' | 'malformed',
    message: string,
  ) {
    super(message)
    this.name = 'DecodeError'
  }
}

/** Largest packet or serial frame we accept. Status packets are ~300 bytes; heartbeat's UDP limit is one datagram. */
export const MAX_MSG_BYTES = 65_507
/** More fields than any heartbeat message carries; bounds work per packet. */
export const MAX_FIELDS = 256

const NS_HEAD = Buffer.from('###\n')
const NS_TAIL = Buffer.from('%%%\n')
const CL_HEAD = Buffer.from('>>>\n')
const CL_TAIL = Buffer.from('<<<\n')
/** cluster-glue sends a newline inside a classic string value as this byte. */
const CL_NEWLINE = 0x13

/** A message being built for sending: fields in order, strings or binaries only. */
export class HaMsg {
  readonly fields: Field[] = []

  add(name: string, value: string | Buffer): this {
    if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(name)) throw new Error(`bad field name '${name}'`)
    const type: FieldType = typeof value === 'string' ? 0 : 1
    const buf = typeof value === 'string' ? Buffer.from(value, 'utf8') : value
    // classic cannot carry an empty value (the parser rejects the message) nor a raw 0x13
    if (buf.length === 0) throw new Error(`field ${name}: empty value`)
    if (type === 0 && (buf.includes(CL_NEWLINE) || buf.includes(0x0a) || buf.includes(0)))
      throw new Error(`field ${name}: value has a control byte`)
    this.fields.push({ name, type, value: buf })
    return this
  }
}

/** Read a field of a decoded message as text (strings; binaries as base64). */
export function fieldText(fields: readonly Field[], name: string): string | undefined {
  const f = fields.find((x) => x.name === name)
  if (!f) return undefined
  return f.type === 1 ? f.value.toString('base64') : f.value.toString('latin1')
}

export function fieldBuf(fields: readonly Field[], name: string): Buffer | undefined {
  return fields.find((x) => x.name === name)?.value
}

/**
 * The classic "NOHEAD" serialisation that the classic `auth` field signs: every field but
 * `auth`, in order, `name=value\n`, binaries as `(1)name=<base64>`.
 */
export function noHead(fields: readonly Field[]): Buffer {
  const parts: Buffer[] = []
  for (const f of fields) if (f.name !== 'auth') parts.push(classicLine(f))
  return Buffer.concat(parts)
}

function classicLine(f: Field): Buffer {
  if (f.type === 0) return Buffer.concat([Buffer.from(`${f.name}=`), f.value, Buffer.from('\n')])
  if (f.type === 1) return Buffer.from(`(1)${f.name}=${f.value.toString('base64')}\n`)
  return Buffer.concat([Buffer.from(`(${f.type})${f.name}=`), f.value, Buffer.from('\n')])
}

/**
 * Netstring encoding as heartbeat sends it on UDP: the classic `auth` field is kept inside (some
 * peers convert to classic and need it), the trailer signs the whole body.
 */
export function encodeNetstring(msg: HaMsg, sign: (data: Buffer) => string): Buffer {
  const inner = sign(noHead(msg.fields))
  const fields = [...msg.fields, { name: 'auth', type: 0 as FieldType, value: Buffer.from(inner) }]
  const parts: Buffer[] = [NS_HEAD]
  for (const f of fields) {
    const body = Buffer.concat([Buffer.from(`(${f.type})${f.name}=`), f.value])
    parts.push(Buffer.from(`${body.length}:`), body, Buffer.from(','))
  }
  parts.push(NS_TAIL)
  const signed = Buffer.concat(parts)
  const trailer = sign(signed)
  return Buffer.concat([signed, Buffer.from(`${Buffer.byteLength(trailer)}:${trailer},`)])
}

/** Classic encoding as heartbeat writes it on a serial line (no trailing NUL). */
export function encodeClassic(msg: HaMsg, sign: (data: Buffer) => string): Buffer {
  const body = noHead(msg.fields)
  return Buffer.concat([CL_HEAD, body, Buffer.from(`auth=${sign(body)}\n`), CL_TAIL])
}

/** Decode one UDP datagram or one serial frame, in either encoding. */
export function decode(buf: Buffer): DecodedMsg {
  if (buf.length > MAX_MSG_BYTES) throw new DecodeError('oversize', `${buf.length} bytes`)
  // heartbeat skips leading newlines before the head
  let start = 0
  while (start < buf.length && (buf[start] === 0x0a || buf[start] === 0x0d)) start++
  const head = buf.subarray(start, start + 4)
  if (head.equals(NS_HEAD)) return decodeNetstring(buf.subarray(start))
  if (head.equals(CL_HEAD)) return decodeClassic(buf.subarray(start))
  if (buf.length - start < 4) throw new DecodeError('truncated', 'shorter than a message head')
  throw new DecodeError('malformed', 'neither ### (netstring) nor >>> (classic) at the start')
}

function decodeNetstring(buf: Buffer): DecodedMsg {
  const fields: Field[] = []
  let pos = NS_HEAD.length
  for (;;) {
    if (pos + NS_TAIL.length > buf.length) throw new DecodeError('truncated', 'no %%% before the end')
    if (buf.subarray(pos, pos + NS_TAIL.length).equals(NS_TAIL)) break
    const [content, next] = readNetstring(buf, pos)
    fields.push(parseTypedField(content))
    if (fields.length > MAX_FIELDS) throw new DecodeError('malformed', `more than ${MAX_FIELDS} fields`)
    pos = next
  }
  const signedEnd = pos + NS_TAIL.length
  const signed = buf.subarray(0, signedEnd)
  let auth: string | undefined
  if (signedEnd < buf.length) {
    const [content, next] = readNetstring(buf, signedEnd)
    auth = content.toString('latin1')
    // a trailing NUL (classic-over-UDP habit) is tolerated; anything else is not
    const rest = buf.subarray(next)
    if (rest.some((b) => b !== 0)) throw new DecodeError('malformed', 'bytes after the auth netstring')
  }
  return { format: 'netstring', fields, ...(auth !== undefined ? { auth } : {}), signed }
}

/** `<decimal len>:<len bytes>,` at pos; returns the content and the position after the comma. */
function readNetstring(buf: Buffer, pos: number): [Buffer, number] {
  let i = pos
  let len = 0
  while (i < buf.length && buf[i]! >= 0x30 && buf[i]! <= 0x39) {
    len = len * 10 + (buf[i]! - 0x30)
    if (++i - pos > 6) throw new DecodeError('malformed', 'netstring length too long')
  }
  if (i === pos)
    throw new DecodeError(i >= buf.length ? 'truncated' : 'malformed', 'expected a netstring length')
  if (i >= buf.length) throw new DecodeError('truncated', 'netstring length without a colon')
  if (buf[i] !== 0x3a) throw new DecodeError('malformed', 'expected : after a netstring length')
  const from = i + 1
  const to = from + len
  if (to >= buf.length) throw new DecodeError('truncated', 'netstring runs past the end')
  if (buf[to] !== 0x2c) throw new DecodeError('malformed', 'netstring not closed by a comma')
  return [buf.subarray(from, to), to + 1]
}

/** `(t)name=value` of a netstring field; every netstring field carries its type. */
function parseTypedField(content: Buffer): Field {
  if (content.length < 5 || content[0] !== 0x28 || content[2] !== 0x29)
    throw new DecodeError('malformed', 'netstring field without a (type) prefix')
  const type = content[1]! - 0x30
  if (type < 0 || type > 5) throw new DecodeError('malformed', `unknown field type ${type}`)
  const eq = content.indexOf(0x3d, 3)
  if (eq <= 3) throw new DecodeError('malformed', 'field without a name')
  return {
    name: fieldName(content.subarray(3, eq)),
    type: type as FieldType,
    value: content.subarray(eq + 1),
  }
}

function fieldName(b: Buffer): string {
  const s = b.toString('latin1')
  if (!/^[\x21-\x7e]+$/.test(s) || s.length > 64) throw new DecodeError('malformed', 'bad field name')
  return s
}

function decodeClassic(buf: Buffer): DecodedMsg {
  const fields: Field[] = []
  const signedParts: Buffer[] = []
  let auth: string | undefined
  let pos = CL_HEAD.length
  for (;;) {
    const nl = buf.indexOf(0x0a, pos)
    if (nl < 0) throw new DecodeError('truncated', 'no <<< before the end')
    const lineStart = pos
    const line = buf.subarray(pos, nl)
    pos = nl + 1
    if (line.length === 3 && line.toString('latin1') === '<<<') break
    const eq = line.indexOf(0x3d)
    if (eq <= 0) throw new DecodeError('malformed', 'classic line without name=')
    let nameBytes = line.subarray(0, eq)
    let type: FieldType = 0
    if (nameBytes[0] === 0x28) {
      if (nameBytes.length < 4 || nameBytes[2] !== 0x29)
        throw new DecodeError('malformed', 'bad (type) prefix')
      const t = nameBytes[1]! - 0x30
      if (t < 0 || t > 5) throw new DecodeError('malformed', `unknown field type ${t}`)
      type = t as FieldType
      nameBytes = nameBytes.subarray(3)
    }
    const raw = line.subarray(eq + 1)
    // cluster-glue rejects a whole message with an empty value; so do we
    if (raw.length === 0) throw new DecodeError('malformed', 'empty value')
    const name = fieldName(nameBytes)
    if (name === 'auth' && type === 0) {
      auth = raw.toString('latin1')
      continue
    }
    signedParts.push(buf.subarray(lineStart, pos))
    fields.push({ name, type, value: classicValue(type, raw) })
    if (fields.length > MAX_FIELDS) throw new DecodeError('malformed', `more than ${MAX_FIELDS} fields`)
  }
  // a NUL (classic over UDP) may follow; nothing else
  if (buf.subarray(pos).some((b) => b !== 0)) throw new DecodeError('malformed', 'bytes after <<<')
  return {
    format: 'classic',
    fields,
    ...(auth !== undefined ? { auth } : {}),
    signed: Buffer.concat(signedParts),
  }
}

function classicValue(type: FieldType, raw: Buffer): Buffer {
  if (type === 1) {
    const s = raw.toString('latin1')
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0)
      throw new DecodeError('malformed', 'binary field is not base64')
    return Buffer.from(s, 'base64')
  }
  if (type === 0 && raw.includes(CL_NEWLINE))
    return Buffer.from(raw.map((b) => (b === CL_NEWLINE ? 0x0a : b)))
  return raw
}

/**
 * Splits a serial byte stream into classic frames. Bytes outside `>>>\n` … `<<<\n` (line
 * noise, a peer's boot messages, a half frame after a reconnect) are skipped and counted.
 * The buffer is bounded: a frame longer than MAX_MSG_BYTES is dropped whole.
 */
export class ClassicFramer {
  private buf: Buffer = Buffer.alloc(0)
  private inFrame = false
  /** Bytes thrown away as noise or overlong frames. */
  garbageBytes = 0
  overlongFrames = 0

  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk
    const frames: Buffer[] = []
    for (;;) {
      if (!this.inFrame) {
        const h = this.buf.indexOf(CL_HEAD)
        if (h < 0) {
          // keep a possible partial head (up to 3 bytes) for the next chunk
          const keep = Math.min(3, this.buf.length)
          this.garbageBytes += this.buf.length - keep
          this.buf = Buffer.from(this.buf.subarray(this.buf.length - keep))
          return frames
        }
        this.garbageBytes += h
        this.buf = this.buf.subarray(h)
        this.inFrame = true
      }
      // the tail must start a line: search for "\n<<<\n" after the head
      const t = this.buf.indexOf('\n<<<\n', CL_HEAD.length - 1)
      if (t < 0) {
        if (this.buf.length > MAX_MSG_BYTES) {
          this.overlongFrames++
          this.garbageBytes += this.buf.length
          this.buf = Buffer.alloc(0)
          this.inFrame = false
        } else this.buf = Buffer.from(this.buf)
        return frames
      }
      const end = t + 5
      // a new head before the tail means the earlier frame was cut: restart at the new head
      const again = this.buf.indexOf(CL_HEAD, CL_HEAD.length)
      if (again >= 0 && again < t) {
        this.garbageBytes += again
        this.buf = this.buf.subarray(again)
        continue
      }
      frames.push(Buffer.from(this.buf.subarray(0, end)))
      this.buf = this.buf.subarray(end)
      this.inFrame = false
    }
  }
}
