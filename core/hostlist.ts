import { FenceError } from './errors.js'

/**
 * Hostlists as powerman and pdsh write them: `node[1-16,20]`, zero padding `n[01-10]`,
 * several terms `a[1-2],b3`, several ranges in one term `r[1-2]n[1-3]`.
 * Expansion keeps the order written and drops repeats; `compress` is the reverse.
 */

/**
 * Limits, so that a hostlist from any caller (a viewer token included) cannot take the gateway
 * down: at most MAX_HOSTS names per hostlist, counted over all its terms before repeats are
 * dropped and before any name is built (`a[1-99999]b[1-99999]` is refused from its size alone);
 * at most MAX_DIGITS digits per number, so every number is an exact (safe) integer.
 */
export const MAX_HOSTS = 100_000
export const MAX_DIGITS = 15

export class HostlistError extends FenceError {
  readonly position: number
  constructor(input: string, position: number, what: string) {
    super(
      'HOSTLIST_SYNTAX',
      `hostlist '${input}': ${what} at character ${position + 1}\n  ${input}\n  ${' '.repeat(position)}^`,
    )
    this.position = position
  }
  /** The one-line form, for CLIs that print a single line. */
  get line(): string {
    return this.message.split('\n')[0]!
  }
}

/** One `lo-hi` of a bracket, not yet expanded. */
interface Span {
  lo: number
  hi: number
  width: number
}
type Piece = string | Span[]

const NAME_CHAR = /[A-Za-z0-9_.-]/

function tooMany(count: number): string {
  const n = Number.isFinite(count) && count < 1e21 ? String(count) : 'more than 10^21'
  return `${n} names, more than the limit of ${MAX_HOSTS} names per hostlist`
}

export function expandHostlist(input: string): string[] {
  const out: string[] = []
  const seen = new Set<string>()
  let i = 0
  const n = input.length
  let total = 0
  if (input.trim() === '') throw new HostlistError(input, 0, 'empty hostlist')
  while (i < n) {
    // one term, up to a comma outside brackets
    const pieces: Piece[] = []
    let literal = ''
    const termStart = i
    while (i < n && input[i] !== ',') {
      const c = input[i]!
      if (c === '[') {
        if (literal) pieces.push(literal)
        literal = ''
        const close = input.indexOf(']', i)
        if (close < 0) throw new HostlistError(input, i, "'[' without ']'")
        pieces.push(parseRange(input, i + 1, close))
        i = close + 1
      } else if (c === ']') {
        throw new HostlistError(input, i, "']' without '['")
      } else if (NAME_CHAR.test(c)) {
        literal += c
        i++
      } else {
        throw new HostlistError(input, i, `unexpected '${c}' (names use letters, digits, '.', '-', '_')`)
      }
    }
    if (literal) pieces.push(literal)
    if (pieces.length === 0) throw new HostlistError(input, termStart, 'empty name')
    // the size of the product, before building any of it
    let count = 1
    for (const p of pieces) if (typeof p !== 'string') count *= p.reduce((k, s) => k + (s.hi - s.lo + 1), 0)
    total += count
    if (total > MAX_HOSTS) throw new HostlistError(input, termStart, tooMany(total))
    let names = ['']
    for (const p of pieces) {
      if (typeof p === 'string') names = names.map((x) => x + p)
      else {
        const values = spell(p)
        names = names.flatMap((x) => values.map((y) => x + y))
      }
    }
    for (const name of names) {
      if (!seen.has(name)) {
        seen.add(name)
        out.push(name)
      }
    }
    if (i < n) {
      i++ // the comma
      if (i === n) throw new HostlistError(input, i - 1, 'trailing comma')
    }
  }
  return out
}

/** The inside of `[...]`, checked but not expanded. */
function parseRange(input: string, start: number, end: number): Span[] {
  if (start === end) throw new HostlistError(input, start, 'empty range []')
  const out: Span[] = []
  let pos = start
  for (const part of input.slice(start, end).split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part)
    if (!m) {
      const bad = part === '' ? 0 : [...part].findIndex((c, k) => !/\d/.test(c) && !(c === '-' && k > 0))
      throw new HostlistError(
        input,
        pos + Math.max(0, bad),
        `expected a number or a range like 1-16 in '[${input.slice(start, end)}]'`,
      )
    }
    const lo = m[1]!
    const hi = m[2] ?? lo
    for (const [digits, at] of [
      [lo, pos],
      [hi, pos + lo.length + 1],
    ] as const) {
      if (digits.length > MAX_DIGITS || !Number.isSafeInteger(Number(digits)))
        throw new HostlistError(
          input,
          at,
          `number ${digits.length > 24 ? `${digits.slice(0, 20)}...` : digits} has ${digits.length} digits, more than the limit of ${MAX_DIGITS}`,
        )
    }
    const a = Number(lo)
    const b = Number(hi)
    if (b < a) throw new HostlistError(input, pos, `range ${lo}-${hi} goes backwards`)
    if (b - a + 1 > MAX_HOSTS) throw new HostlistError(input, pos, `range ${lo}-${hi}: ${tooMany(b - a + 1)}`)
    // zero padding as written on the low bound: n[01-10] -> n01..n10; n[8-10] -> n8..n10
    const width = lo.length > 1 && lo.startsWith('0') ? lo.length : 0
    out.push({ lo: a, hi: b, width })
    pos += part.length + 1
  }
  return out
}

/** The numbers of a bracket as text; the caller has checked their count. */
function spell(spans: readonly Span[]): string[] {
  const out: string[] = []
  for (const { lo, hi, width } of spans)
    for (let k = lo; k <= hi; k++) out.push(width ? String(k).padStart(width, '0') : String(k))
  return out
}

/**
 * The reverse: `['n1','n2','n3','x']` -> `n[1-3],x`. Names are grouped by the text around their
 * last number; zero-padded numbers keep their width. The order of first appearance is kept.
 * A name whose last number has more than MAX_DIGITS digits is kept whole.
 */
export function compressHostlist(names: readonly string[]): string {
  interface Group {
    prefix: string
    suffix: string
    width: number
    nums: number[]
  }
  const groups = new Map<string, Group>()
  const order: (Group | string)[] = []
  for (const name of new Set(names)) {
    const m = /^(.*?)(\d+)(\D*)$/.exec(name)
    // a number too long to be exact (a literal name like n100000000000000000000) stays as written
    if (!m || m[2]!.length > MAX_DIGITS) {
      order.push(name)
      continue
    }
    const [, prefix, digits, suffix] = m as unknown as [string, string, string, string]
    const width = digits.length > 1 && digits.startsWith('0') ? digits.length : 0
    const key = `${prefix}\u0000${suffix}\u0000${width}`
    let g = groups.get(key)
    if (!g) {
      g = { prefix, suffix, width, nums: [] }
      groups.set(key, g)
      order.push(g)
    }
    g.nums.push(Number(digits))
  }
  return order
    .map((g) => {
      if (typeof g === 'string') return g
      const fmt = (k: number) => (g.width ? String(k).padStart(g.width, '0') : String(k))
      if (g.nums.length === 1) return g.prefix + fmt(g.nums[0]!) + g.suffix
      const nums = [...new Set(g.nums)].sort((a, b) => a - b)
      const ranges: string[] = []
      let lo = nums[0]!
      let prev = lo
      for (const k of [...nums.slice(1), Number.NaN]) {
        if (k === prev + 1) {
          prev = k
          continue
        }
        ranges.push(lo === prev ? fmt(lo) : `${fmt(lo)}-${fmt(prev)}`)
        lo = prev = k
      }
      return `${g.prefix}[${ranges.join(',')}]${g.suffix}`
    })
    .join(',')
}
