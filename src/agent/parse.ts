import { IGNORED, REFUSED, SILENT, lookup, lookupShort, type OptionSpec } from './options.js'

/** What the caller wrote, before validation: canonical option name → raw text. */
export interface RawOptions {
  values: Map<string, string>
  /** Printed on stderr; the run goes on (unknown options, ignored options). */
  warnings: string[]
  /** Each one is fatal: exit 1 before anything is contacted. */
  problems: string[]
}

const takesValue = (o: OptionSpec): boolean => o.type !== 'boolean'

/** A flag given again replaces the value, except a list option's (`--url A --url B` = `url=A,B`). */
function set(raw: RawOptions, spec: OptionSpec, value: string): void {
  const prev = raw.values.get(spec.name)
  raw.values.set(spec.name, spec.list && prev !== undefined ? `${prev},${value}` : value)
}

/** Shared by both input forms: refused, silent, ignored and unknown names. */
function other(name: string, raw: RawOptions, how: string): void {
  const key = name.replaceAll('-', '_')
  if (SILENT.has(key)) return
  if (REFUSED[key]) raw.problems.push(`${key}: ${REFUSED[key]}`)
  else if (IGNORED[key]) raw.warnings.push(`Note: option '${key}' is accepted and ignored: ${IGNORED[key]}`)
  // never echo the value: an unknown option may carry a secret
  else raw.warnings.push(`Parse error: Ignoring unknown option '${how}'`)
}

/**
 * Pacemaker's form (and fence-agents' stdin form): `key=value` lines. `#` lines and blank
 * lines are skipped, the value is everything after the first `=`, surrounding double quotes
 * go, `-` and `_` in names are alike, the last value wins.
 */
export function parseStdin(text: string): RawOptions {
  const raw: RawOptions = { values: new Map(), warnings: [], problems: [] }
  for (const full of text.split('\n')) {
    const line = full.trim()
    if (!line || line.startsWith('#')) continue
    const eq = line.indexOf('=')
    const name = (eq < 0 ? line : line.slice(0, eq)).trim()
    let value = eq < 0 ? '' : line.slice(eq + 1)
    const quoted = /^"(.*)"$/s.exec(value)
    if (quoted) value = quoted[1]!
    const spec = lookup(name)
    if (!spec || spec.flagOnly) {
      other(name, raw, name)
      continue
    }
    raw.values.set(spec.name, value)
  }
  return raw
}

/**
 * The getopt form (any argument at all selects it, as in fence-agents): `-o off`, `-ooff`,
 * `--action=off`, `--action off`, bundled switches `-vq`. Unknown flags are warned about and
 * ignored; a flag that needs a value and has none is a problem.
 */
export function parseArgv(argv: readonly string[]): RawOptions {
  const raw: RawOptions = { values: new Map(), warnings: [], problems: [] }
  const rest: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--') {
      rest.push(...argv.slice(i + 1))
      break
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=')
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq)
      const spec = lookup(name)
      if (!spec) {
        // an ignored option's value is its own word: `--power-wait 3`
        if (eq < 0 && IGNORED[name.replaceAll('-', '_')] && i + 1 < argv.length) i++
        other(name, raw, `--${name}`)
        continue
      }
      if (!takesValue(spec)) {
        raw.values.set(spec.name, eq < 0 ? '1' : arg.slice(eq + 1))
        continue
      }
      if (eq >= 0) set(raw, spec, arg.slice(eq + 1))
      else if (i + 1 < argv.length) set(raw, spec, argv[++i]!)
      else raw.problems.push(`${spec.name}: --${name} expects a value`)
      continue
    }
    if (arg.startsWith('-') && arg.length > 1) {
      for (let j = 1; j < arg.length; j++) {
        const flag = arg[j]!
        const spec = lookupShort(flag)
        if (!spec) {
          raw.warnings.push(`Parse error: Ignoring unknown option '-${flag}'`)
          continue
        }
        if (!takesValue(spec)) {
          raw.values.set(spec.name, '1')
          continue
        }
        const attached = arg.slice(j + 1)
        if (attached) set(raw, spec, attached)
        else if (i + 1 < argv.length) set(raw, spec, argv[++i]!)
        else raw.problems.push(`${spec.name}: -${flag} expects a value`)
        break
      }
      continue
    }
    rest.push(arg)
  }
  if (rest.length) raw.warnings.push(`Unused arguments on command line: ${rest.join(' ')}`)
  return raw
}
