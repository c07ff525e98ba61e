import type { FieldProblem, SecretRef } from './problems.js'
import { MAX_TIMER_MS, parseDuration, parseSize, showMs, showSize } from './duration.js'

/**
 * A small reader for one config section that collects problems instead of throwing, so that
 * a user sees every mistake of a file at once, each with its field. Drivers and the lab use it
 * for their sections; the config loader adds file and line.
 */
export class Fields {
  readonly problems: FieldProblem[] = []
  private readonly used = new Set<string>()

  constructor(
    readonly section: Record<string, unknown>,
    readonly base: (string | number)[] = [],
  ) {}

  private problem(name: string, message: string): void {
    this.problems.push({ path: [...this.base, name], message })
  }

  private take(name: string): unknown {
    this.used.add(name)
    return this.section[name]
  }

  /** Mark fields as read by someone else (so noOthers does not report them). */
  mark(...names: string[]): void {
    for (const n of names) this.used.add(n)
  }

  has(name: string): boolean {
    return this.section[name] !== undefined
  }

  str(name: string, opts: { default?: string; pattern?: RegExp; hint?: string } = {}): string {
    const v = this.take(name)
    if (v === undefined) {
      if (opts.default !== undefined) return opts.default
      this.problem(name, `required: expected ${opts.hint ?? 'a string'}`)
      return ''
    }
    if (typeof v !== 'string' && typeof v !== 'number') {
      this.problem(name, `expected ${opts.hint ?? 'a string'}, got ${describe(v)}`)
      return ''
    }
    const s = String(v)
    if (opts.pattern && !opts.pattern.test(s))
      this.problem(name, `expected ${opts.hint ?? opts.pattern}, got '${s}'`)
    return s
  }

  optStr(name: string): string | undefined {
    if (this.has(name)) return this.str(name)
    this.used.add(name)
    return undefined
  }

  int(name: string, opts: { default?: number; min?: number; max?: number } = {}): number {
    const v = this.take(name)
    if (v === undefined) {
      if (opts.default !== undefined) return opts.default
      this.problem(name, 'required: expected an integer')
      return 0
    }
    const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v
    if (typeof n !== 'number' || !Number.isSafeInteger(n)) {
      this.problem(name, `expected an integer, got ${describe(v)}`)
      return opts.default ?? 0
    }
    if ((opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max))
      this.problem(name, `expected an integer from ${opts.min ?? '-∞'} to ${opts.max ?? '∞'}, got ${n}`)
    return n
  }

  bool(name: string, def: boolean): boolean {
    const v = this.take(name)
    if (v === undefined) return def
    if (typeof v !== 'boolean') {
      this.problem(name, `expected true or false, got ${describe(v)}`)
      return def
    }
    return v
  }

  /**
   * Milliseconds, from `200ms`, `5s`, or a number of seconds. Every duration is bounded: by
   * `max` when given, and never above MAX_TIMER_MS (a longer Node timer fires at once).
   * `zeroOff`: 0 is also accepted (it turns the thing off) below `min`.
   */
  duration(
    name: string,
    def: number | undefined,
    opts: { min?: number; max?: number; zeroOff?: boolean } = {},
  ): number {
    const v = this.take(name)
    if (v === undefined) {
      if (def !== undefined) return def
      this.problem(name, 'required: expected a duration like 200ms or 5s')
      return 0
    }
    let ms: number
    try {
      ms = parseDuration(v as string | number)
    } catch {
      this.problem(name, `expected a duration like 200ms or 5s, got ${describe(v)}`)
      return def ?? 0
    }
    const min = opts.min ?? 0
    const max = Math.min(opts.max ?? MAX_TIMER_MS, MAX_TIMER_MS)
    if ((ms < min && !(opts.zeroOff && ms === 0)) || ms > max) {
      const top =
        max === MAX_TIMER_MS ? `${max}ms (about 24.8 days, the longest a timer can wait)` : showMs(max)
      const from = opts.zeroOff ? `0ms (off), or ${showMs(min)}` : min === 0 ? '0ms' : showMs(min)
      this.problem(name, `expected a duration from ${from} to ${top}, got ${describe(v)}`)
      return def ?? Math.min(Math.max(ms, min), max)
    }
    return ms
  }

  /** Bytes, from `64MiB`, `512KiB` or a number of bytes, between min and max. */
  size(name: string, def: number, opts: { min: number; max: number }): number {
    const v = this.take(name)
    if (v === undefined) return def
    let bytes: number | undefined
    try {
      if (typeof v === 'string' || typeof v === 'number') bytes = parseSize(String(v))
    } catch {
      // well formed but too many digits to be exact: out of range, not a typo
      if (/^\s*\d+\s*(B|KiB|MiB|GiB|KB|MB|GB)?\s*$/.test(String(v))) bytes = Number.POSITIVE_INFINITY
    }
    const range = `${showSize(opts.min)} to ${showSize(opts.max)}`
    if (bytes === undefined) {
      this.problem(name, `expected a size like 64MiB (${range}), got ${describe(v)}`)
      return def
    }
    if (bytes < opts.min || bytes > opts.max) {
      this.problem(name, `expected a size from ${range}, got ${describe(String(v))}`)
      return def
    }
    return bytes
  }

  oneOf<T extends string>(name: string, values: readonly T[], def?: T): T {
    const v = this.take(name)
    if (v === undefined) {
      if (def !== undefined) return def
      this.problem(name, `required: expected one of ${values.join(', ')}`)
      return values[0]!
    }
    if (!values.includes(String(v) as T)) {
      this.problem(name, `expected one of ${values.join(', ')}, got ${describe(v)}`)
      return def ?? values[0]!
    }
    return String(v) as T
  }

  /** `host:port` or `[v6]:port`. */
  hostPort(name: string, def?: { host: string; port: number }): { host: string; port: number } {
    const v = this.take(name)
    if (v === undefined) {
      if (def) return def
      this.problem(name, 'required: expected HOST:PORT')
      return { host: '', port: 0 }
    }
    const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(String(v))
    const port = m ? Number(m[3]) : -1
    if (!m || port < 0 || port > 65535) {
      this.problem(name, `expected HOST:PORT, got ${describe(v)}`)
      return def ?? { host: '', port: 0 }
    }
    return { host: (m[1] ?? m[2])!, port }
  }

  /**
   * A secret: `<name>File: PATH` or `<name>Env: VAR` (never the value itself in the config:
   * a plain `<name>` key is refused so that secrets stay out of files that get shared).
   */
  secret(name: string, opts: { required: boolean }): SecretRef | undefined {
    const file = this.take(`${name}File`)
    const env = this.take(`${name}Env`)
    if (this.take(name) !== undefined)
      this.problem(
        name,
        `secrets are not written in the config: use ${name}File: PATH or ${name}Env: VARIABLE`,
      )
    if (file !== undefined && env !== undefined)
      this.problem(`${name}File`, `give ${name}File or ${name}Env, not both`)
    if (file !== undefined) {
      if (typeof file !== 'string' || !file) this.problem(`${name}File`, 'expected a file path')
      return { file: String(file) }
    }
    if (env !== undefined) {
      if (typeof env !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(env))
        this.problem(`${name}Env`, 'expected an environment variable name')
      return { env: String(env) }
    }
    if (opts.required)
      this.problem(`${name}File`, `required: expected ${name}File: PATH or ${name}Env: VARIABLE`)
    return undefined
  }

  /**
   * Report every key nobody asked for (a typo like `hots:` must not pass silently), with the
   * known field it is closest to: `hots: unknown field (did you mean host?)`.
   */
  noOthers(allowed: readonly string[] = []): void {
    const known = [...new Set([...this.used, ...allowed])]
    for (const k of Object.keys(this.section))
      if (!this.used.has(k) && !allowed.includes(k)) {
        const near = didYouMean(k, known)
        this.problem(k, `unknown field${near ? ` (did you mean ${near}?)` : ''}`)
      }
  }
}

/**
 * The known name closest to a misspelt one, if it is close: at most one edit for names of up
 * to 4 characters, two for longer ones (an edit: a letter added, dropped, changed, or two
 * neighbours swapped). Case is ignored. Ties go to the first known name.
 */
export function didYouMean(name: string, known: readonly string[]): string | undefined {
  const max = name.length <= 4 ? 1 : 2
  let best: string | undefined
  let bestD = max + 1
  for (const k of known) {
    const d = editDistance(name.toLowerCase(), k.toLowerCase())
    if (d < bestD) {
      best = k
      bestD = d
    }
  }
  return best
}

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  )
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[i - 2]![j - 2]! + 1)
      d[i]![j] = v
    }
  return d[a.length]![b.length]!
}

export function describe(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'a mapping'
  if (typeof v === 'string') return `'${v}'`
  return String(v)
}
