/**
 * The one error the codec throws: every decoder turns a malformed, truncated or forged packet
 * into an IpmiCodecError with a reason, never a RangeError or a crash. The driver maps it to
 * FenceError PROTOCOL_ERROR; the mock drops the packet (as a real BMC does).
 */
export type IpmiCodecReason =
  | 'truncated'
  | 'rmcp-header'
  | 'rmcp-class'
  | 'auth-type'
  | 'length'
  | 'checksum'
  | 'integrity'
  | 'confidentiality'
  | 'payload-type'
  | 'field'
  | 'algorithm'
  /** A packet for another session, or with a sequence number outside the window or replayed. */
  | 'session'
  | 'sequence'

export class IpmiCodecError extends Error {
  constructor(
    readonly reason: IpmiCodecReason,
    message: string,
  ) {
    super(message)
    this.name = 'IpmiCodecError'
  }
}

/** Throws `truncated` unless `buf` holds at least `need` bytes from offset 0. */
export function need(buf: Buffer, need: number, what: string): void {
  if (buf.length < need)
    throw new IpmiCodecError('truncated', `${what}: ${buf.length} bytes, expected at least ${need}`)
}
