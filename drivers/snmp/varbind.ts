/**
 * Reading values out of SNMP varbinds, strictly. Whatever a device (or a noisy line) sends —
 * a wrong type, an exception, a value out of range, a varbind for another OID — decodes to a
 * typed outcome, never to a guess: a state is `on` or `off` only when the varbind is an
 * INTEGER for the asked OID whose value is exactly the family's on or off value.
 * Pure functions, no net-snmp runtime: the fuzz tests drive them with random input.
 */
import type { PowerState } from '../../core/types.js'

/** net-snmp's ObjectType numbers (the BER tags), as far as decoding needs them. */
export const SNMP_TYPE = {
  Integer: 2,
  OctetString: 4,
  Null: 5,
  OID: 6,
  Counter: 65,
  Gauge: 66,
  TimeTicks: 67,
  NoSuchObject: 128,
  NoSuchInstance: 129,
  EndOfMibView: 130,
} as const

/** A varbind as net-snmp hands it over (loosely typed on purpose: it came off the wire). */
export interface RawVarbind {
  oid?: unknown
  type?: unknown
  value?: unknown
}

export type Decoded<T> =
  | { ok: true; value: T }
  | {
      ok: false
      why: 'noSuchObject' | 'noSuchInstance' | 'endOfMibView' | 'wrongType' | 'wrongOid' | 'malformed'
    }

/** The three SNMPv2 exceptions: the agent has no such object or instance. */
export function isMissing<T>(d: Decoded<T>): d is Extract<Decoded<T>, { ok: false }> {
  return !d.ok && (d.why === 'noSuchObject' || d.why === 'noSuchInstance' || d.why === 'endOfMibView')
}

function exception(vb: RawVarbind): Decoded<never> | undefined {
  if (vb === null || typeof vb !== 'object') return { ok: false, why: 'malformed' }
  if (vb.type === SNMP_TYPE.NoSuchObject) return { ok: false, why: 'noSuchObject' }
  if (vb.type === SNMP_TYPE.NoSuchInstance) return { ok: false, why: 'noSuchInstance' }
  if (vb.type === SNMP_TYPE.EndOfMibView) return { ok: false, why: 'endOfMibView' }
  return undefined
}

function sameOid(vb: RawVarbind, oid: string | undefined): boolean {
  return oid === undefined || (typeof vb.oid === 'string' && normalizeOid(vb.oid) === normalizeOid(oid))
}

export function normalizeOid(oid: string): string {
  return oid.startsWith('.') ? oid.slice(1) : oid
}

/** An INTEGER (32-bit, signed) for `oid` (when given). */
export function decodeInt(vb: RawVarbind, oid?: string): Decoded<number> {
  const e = exception(vb)
  if (e) return e
  if (!sameOid(vb, oid)) return { ok: false, why: 'wrongOid' }
  if (vb.type !== SNMP_TYPE.Integer) return { ok: false, why: 'wrongType' }
  const v = vb.value
  if (typeof v !== 'number' || !Number.isInteger(v) || v < -2147483648 || v > 2147483647)
    return { ok: false, why: 'malformed' }
  return { ok: true, value: v }
}

/** An OCTET STRING as text (DisplayString: latin1, trailing NULs dropped). */
export function decodeString(vb: RawVarbind, oid?: string): Decoded<string> {
  const e = exception(vb)
  if (e) return e
  if (!sameOid(vb, oid)) return { ok: false, why: 'wrongOid' }
  if (vb.type !== SNMP_TYPE.OctetString) return { ok: false, why: 'wrongType' }
  const v = vb.value
  if (Buffer.isBuffer(v)) return { ok: true, value: v.toString('latin1').replace(/\0+$/, '') }
  if (typeof v === 'string') return { ok: true, value: v }
  return { ok: false, why: 'malformed' }
}

/** An OBJECT IDENTIFIER value (sysObjectID), without a leading dot. */
export function decodeOidValue(vb: RawVarbind, oid?: string): Decoded<string> {
  const e = exception(vb)
  if (e) return e
  if (!sameOid(vb, oid)) return { ok: false, why: 'wrongOid' }
  if (vb.type !== SNMP_TYPE.OID) return { ok: false, why: 'wrongType' }
  const v = vb.value
  if (typeof v !== 'string' || !/^\.?\d+(\.\d+)*$/.test(v)) return { ok: false, why: 'malformed' }
  return { ok: true, value: normalizeOid(v) }
}

/**
 * A power state: exactly `on` or `off` value → that state; any other INTEGER, any other type,
 * a varbind for another OID → `unknown`. A missing object is reported as such (the caller
 * turns it into NO_SUCH_PLUG), never as a state.
 */
export function decodePowerState(
  vb: RawVarbind,
  values: { on: number; off: number },
  oid?: string,
): { state: PowerState } | { missing: string } {
  const d = decodeInt(vb, oid)
  if (!d.ok) return isMissing(d) ? { missing: d.why } : { state: 'unknown' }
  if (d.value === values.on) return { state: 'on' }
  if (d.value === values.off) return { state: 'off' }
  return { state: 'unknown' }
}

/** Compare two dotted OIDs numerically: <0, 0, >0. */
export function compareOids(a: string, b: string): number {
  const x = normalizeOid(a).split('.')
  const y = normalizeOid(b).split('.')
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = Number(x[i]) - Number(y[i])
    if (d !== 0) return d
  }
  return x.length - y.length
}

/** The part of `oid` below `prefix` (`1.3.6.1.2` under `1.3.6` → `1.2`), or undefined if not below. */
export function oidSuffix(oid: string, prefix: string): string | undefined {
  const o = normalizeOid(oid)
  const p = normalizeOid(prefix)
  return o.startsWith(`${p}.`) && o.length > p.length + 1 ? o.slice(p.length + 1) : undefined
}
