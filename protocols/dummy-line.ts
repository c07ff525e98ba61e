/**
 * The dummy device's wire protocol: one line per request and per answer, over TCP.
 * Shared by the dummy driver and its mock firmware, so a mismatch shows in tests once.
 *
 *   request:  <tag> PLUGS | STATUS <plug>... | SET <plug> on|off|cycle | CANCEL <plug>...
 *   answer:   <tag> OK [<plug>=<value> ...]  |  <tag> ERR <CODE> <text>
 *
 * Tags are decimal, chosen by the client, echoed by the device; values are
 * percent-encoded so that names may hold spaces.
 */

export type DummyVerb = 'PLUGS' | 'STATUS' | 'SET' | 'CANCEL'

export interface DummyRequest {
  tag: number
  verb: DummyVerb
  args: string[]
}

export interface DummyAnswer {
  tag: number
  ok: boolean
  /** OK: the key=value pairs in order. */
  pairs: [string, string][]
  /** ERR: the code and text. */
  code?: string
  text?: string
}

export const MAX_LINE = 64 * 1024

export function encodeRequest(r: DummyRequest): string {
  return `${r.tag} ${r.verb}${r.args.map((a) => ` ${encodeURIComponent(a)}`).join('')}\n`
}

export function decodeRequest(line: string): DummyRequest | { error: string } {
  const parts = line.trim().split(/\s+/)
  const tag = Number(parts[0])
  if (!/^\d{1,9}$/.test(parts[0] ?? '')) return { error: 'bad tag' }
  const verb = parts[1] as DummyVerb
  if (!['PLUGS', 'STATUS', 'SET', 'CANCEL'].includes(verb)) return { error: `unknown verb ${parts[1] ?? ''}` }
  try {
    return { tag, verb, args: parts.slice(2).map(decodeURIComponent) }
  } catch {
    return { error: 'bad escape' }
  }
}

export function encodeOk(tag: number, pairs: [string, string][] = []): string {
  return `${tag} OK${pairs.map(([k, v]) => ` ${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('')}\n`
}

export function encodeErr(tag: number, code: string, text: string): string {
  return `${tag} ERR ${code} ${text.replace(/[\r\n]/g, ' ')}\n`
}

/** Strict: anything off the grammar is null (the caller reports it as a protocol error). */
export function decodeAnswer(line: string): DummyAnswer | null {
  const m = /^(\d{1,9}) (OK|ERR)(?: (.*))?$/.exec(line.replace(/\r?\n$/, ''))
  if (!m) return null
  const tag = Number(m[1])
  if (m[2] === 'ERR') {
    const e = /^([A-Z_]+) ?(.*)$/.exec(m[3] ?? '')
    if (!e) return null
    return { tag, ok: false, pairs: [], code: e[1]!, text: e[2]! }
  }
  const pairs: [string, string][] = []
  for (const item of (m[3] ?? '').split(' ').filter(Boolean)) {
    const kv = /^([^=\s]+)=([^=\s]*)$/.exec(item)
    if (!kv) return null
    try {
      pairs.push([decodeURIComponent(kv[1]!), decodeURIComponent(kv[2]!)])
    } catch {
      return null
    }
  }
  return { tag, ok: true, pairs }
}
