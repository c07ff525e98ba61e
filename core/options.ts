/**
 * Options as data (the fence-agents `all_opt` lesson): a driver or a lab mock declares each
 * field of its config section once, as a TypeBox schema carrying its name, type, default,
 * unit, whether it is a secret and a one-line description. From that one declaration come
 *
 * - validation: `readOptions` reads every declared field through {@link Fields}, so each
 *   mistake keeps its field path (and the config loader its FILE:LINE) and today's messages;
 * - the config type: {@link OptionValues} (a duration `connectTimeout` becomes
 *   `connectTimeoutMs: number`, a secret a SecretRef);
 * - the option tables of docs/configuration.md, docs/lab.md and docs/drivers/*.md
 *   (`renderOptionTable`, kept in step by test/docs/options-doc.test.ts) and
 *   `fencegate list --drivers`.
 *
 * Checks that join several fields (port or server, SNMPv3 keys and level) stay code, after
 * `readOptions`.
 */
import { type TSchema, Type } from 'typebox'
import type { SecretRef } from './problems.js'
import { MAX_TIMER_MS, showMs } from './duration.js'
import type { Fields } from './fields.js'

type OptionKind = 'string' | 'int' | 'bool' | 'duration' | 'oneOf' | 'secret' | 'hostPort' | 'custom'

/** A custom option's reader (a list, a value checked against another field): called by readOptions. */
const READ = Symbol('read')

/**
 * One option: a TypeBox schema (JSON Schema: `type`, `default`, `minimum`…, `description`)
 * plus fencegate's keywords (`x-kind`, `x-unit`, `x-secret`, `x-type`, `x-default`). `T` is
 * the validated value's type, `U` its unit (`ms` renames the value `<name>Ms`).
 */
export type Option<T = unknown, U extends string = ''> = TSchema & {
  readonly description: string
  readonly 'x-kind': OptionKind
  /** For docs: the type as people read it (`duration 1ms to 1m`, `HOST:PORT`). */
  readonly 'x-type'?: string
  /** For docs: a default that is not one value (`dtr` on a tty, `none` on a server). */
  readonly 'x-default'?: string
  readonly 'x-unit'?: U
  readonly 'x-secret'?: boolean
  readonly __value?: T
  readonly [READ]?: (f: Fields, name: string, defaults: Record<string, unknown>) => T
}

// biome-ignore lint/suspicious/noExplicitAny: a declaration holds options of every value type
export type OptionDecl = Readonly<Record<string, Option<any, any>>>

type ValueKey<K extends string, O> = O extends { readonly 'x-unit'?: 'ms' } ? `${K}Ms` : K
type ValueOf<O> = O extends Option<infer T, infer _U> ? T : never

/** The validated values of a declaration: one key per option (durations as `<name>Ms`). */
export type OptionValues<D extends OptionDecl> = {
  -readonly [K in keyof D & string as ValueKey<K, D[K]>]: ValueOf<D[K]>
}

interface Common {
  /** Empty for none; undefined = required (a problem when absent). */
  default?: unknown
  /** For docs, in place of the default (a default that depends on another field). */
  defaultText?: string
}

const base = (description: string, c: Common) => ({
  description,
  ...(c.defaultText !== undefined ? { 'x-default': c.defaultText } : {}),
})

/** The builders a declaration is written with. */
export const Opt = {
  /** Text; `pattern`/`hint` as Fields.str. Without a default and not `optional`, required. */
  string(
    description: string,
    o: Common & { default?: string; pattern?: RegExp; hint?: string; optional?: boolean } = {},
  ): Option<string> {
    return Type.String({
      ...base(description, o),
      ...(o.default !== undefined ? { default: o.default } : {}),
      ...(o.pattern ? { pattern: o.pattern.source } : {}),
      ...(o.hint ? { 'x-type': o.hint } : {}),
      ...(o.optional ? { 'x-optional': true } : {}),
      'x-kind': 'string',
    }) as unknown as Option<string>
  },
  optionalString(description: string, o: { hint?: string } = {}): Option<string | undefined> {
    return Opt.string(description, { ...o, optional: true }) as Option<string | undefined>
  },
  int(
    description: string,
    o: Common & { default?: number; min?: number; max?: number } = {},
  ): Option<number> {
    return Type.Integer({
      ...base(description, o),
      ...(o.default !== undefined ? { default: o.default } : {}),
      ...(o.min !== undefined ? { minimum: o.min } : {}),
      ...(o.max !== undefined ? { maximum: o.max } : {}),
      'x-kind': 'int',
    }) as unknown as Option<number>
  },
  bool(description: string, o: Common & { default: boolean }): Option<boolean> {
    return Type.Boolean({
      ...base(description, o),
      default: o.default,
      'x-kind': 'bool',
    }) as unknown as Option<boolean>
  },
  /** Milliseconds, written `200ms`, `5s` or seconds; bounded as Fields.duration. */
  duration(
    description: string,
    o: Common & { default?: number; min?: number; max?: number; zeroOff?: boolean } = {},
  ): Option<number, 'ms'> {
    return Type.Integer({
      ...base(description, o),
      ...(o.default !== undefined ? { default: o.default } : {}),
      ...(o.min !== undefined ? { minimum: o.min } : {}),
      ...(o.max !== undefined ? { maximum: o.max } : {}),
      ...(o.zeroOff ? { 'x-zero-off': true } : {}),
      'x-unit': 'ms',
      'x-kind': 'duration',
    }) as unknown as Option<number, 'ms'>
  },
  oneOf<const V extends string>(
    values: readonly V[],
    description: string,
    o: Common & { default?: V } = {},
  ): Option<V> {
    return Type.Union(
      values.map((v) => Type.Literal(v)),
      {
        ...base(description, o),
        ...(o.default !== undefined ? { default: o.default } : {}),
        'x-kind': 'oneOf',
      },
    ) as unknown as Option<V>
  },
  /** `<name>File: PATH` or `<name>Env: VAR`, never the value (Fields.secret). */
  secret<R extends boolean>(
    description: string,
    o: { required: R; defaultText?: string },
  ): Option<R extends true ? SecretRef : SecretRef | undefined> {
    return Type.Object(
      { file: Type.Optional(Type.String()), env: Type.Optional(Type.String()) },
      {
        ...base(description, o),
        'x-secret': true,
        'x-required': o.required,
        'x-kind': 'secret',
      },
    ) as unknown as Option<R extends true ? SecretRef : SecretRef | undefined>
  },
  /** `HOST:PORT`; optional unless `required`. */
  hostPort(description: string, o: Common = {}): Option<{ host: string; port: number } | undefined> {
    return Type.Object(
      { host: Type.String(), port: Type.Integer() },
      { ...base(description, o), 'x-type': 'HOST:PORT', 'x-kind': 'hostPort' },
    ) as unknown as Option<{ host: string; port: number } | undefined>
  },
  /**
   * Anything else (a list, a value checked against another field): the schema and docs say
   * what it is, `read` reads it from the section's Fields (recording its problems there).
   */
  custom<T>(
    schema: TSchema,
    description: string,
    o: Common & { type: string; read: (f: Fields, name: string, defaults: Record<string, unknown>) => T },
  ): Option<T> {
    const s = { ...schema, ...base(description, o), 'x-type': o.type, 'x-kind': 'custom' as const }
    Object.defineProperty(s, READ, { value: o.read, enumerable: false })
    return s as unknown as Option<T>
  },
}

/**
 * Read every declared option of a section. `defaults` replaces declared defaults that depend
 * on other fields (read those first). Problems go to `f.problems`; unknown fields are left to
 * the caller's `f.noOthers()`.
 */
export function readOptions<D extends OptionDecl>(
  f: Fields,
  decl: D,
  defaults: Partial<Record<keyof D, unknown>> = {},
): OptionValues<D> {
  const out: Record<string, unknown> = {}
  for (const [name, o] of Object.entries(decl)) {
    const s = o as Option & Record<string, unknown>
    const def = (name in defaults ? defaults[name] : s.default) as never
    const key = (s['x-unit'] as string | undefined) === 'ms' ? `${name}Ms` : name
    switch (s['x-kind']) {
      case 'string':
        out[key] = s['x-optional']
          ? f.optStr(name)
          : f.str(name, {
              default: def,
              ...(typeof s.pattern === 'string' ? { pattern: new RegExp(s.pattern) } : {}),
              ...(typeof s['x-type'] === 'string' ? { hint: s['x-type'] } : {}),
            })
        break
      case 'int':
        out[key] = f.int(name, {
          default: def,
          ...(s.minimum !== undefined ? { min: s.minimum as number } : {}),
          ...(s.maximum !== undefined ? { max: s.maximum as number } : {}),
        })
        break
      case 'bool':
        out[key] = f.bool(name, def)
        break
      case 'duration':
        out[key] = f.duration(name, def, {
          ...(s.minimum !== undefined ? { min: s.minimum as number } : {}),
          ...(s.maximum !== undefined ? { max: s.maximum as number } : {}),
          ...(s['x-zero-off'] ? { zeroOff: true } : {}),
        })
        break
      case 'oneOf':
        out[key] = f.oneOf(name, choices(s), def)
        break
      case 'secret':
        out[key] = f.secret(name, { required: s['x-required'] === true })
        break
      case 'hostPort':
        f.mark(name)
        out[key] = f.has(name) ? f.hostPort(name) : undefined
        break
      case 'custom':
        f.mark(name)
        out[key] = s[READ]!(f, name, defaults as Record<string, unknown>)
        break
    }
  }
  return out as OptionValues<D>
}

function choices(s: Record<string, unknown>): string[] {
  return ((s.anyOf ?? []) as { const: string }[]).map((l) => l.const)
}

/** The names a user writes for a declaration's options (a secret `kg` is `kgFile` / `kgEnv`). */
export function optionFieldNames(decl: OptionDecl): string[] {
  return Object.entries(decl).flatMap(([name, o]) => (o['x-secret'] ? [`${name}File`, `${name}Env`] : [name]))
}

/** The type column of a docs table. */
export function optionType(o: Option): string {
  const s = o as Option & Record<string, unknown>
  const range = (lo: unknown, hi: unknown, show: (n: number) => string) =>
    lo !== undefined && hi !== undefined
      ? ` ${show(lo as number)} to ${show(hi as number)}`
      : lo !== undefined
        ? ` from ${show(lo as number)}`
        : hi !== undefined
          ? ` up to ${show(hi as number)}`
          : ''
  switch (s['x-kind']) {
    case 'string':
      return (s['x-type'] as string | undefined) ?? 'text'
    case 'int':
      return `integer${range(s.minimum, s.maximum, String)}`
    case 'bool':
      return '`true` or `false`'
    case 'duration': {
      const max = (s.maximum as number | undefined) ?? MAX_TIMER_MS
      return `duration${range(s.minimum ?? 0, max === MAX_TIMER_MS ? undefined : max, showMs)}${s['x-zero-off'] ? ', or 0 (off)' : ''}`
    }
    case 'oneOf':
      return choices(s)
        .map((c) => `\`${c}\``)
        .join(', ')
    case 'secret':
      return 'secret (a file or a variable)'
    default:
      return (s['x-type'] as string | undefined) ?? ''
  }
}

/** The default column of a docs table. */
export function optionDefault(o: Option): string {
  const s = o as Option & Record<string, unknown>
  if (typeof s['x-default'] === 'string') return s['x-default']
  if (s['x-kind'] === 'secret') return s['x-required'] ? 'required' : 'none'
  if (s['x-kind'] === 'hostPort' || s['x-optional']) return 'none'
  if (s.default === undefined) return s['x-kind'] === 'custom' ? '' : 'required'
  if (s['x-kind'] === 'duration') return `\`${showMs(s.default as number).replace(/^0ms$/, '0')}\``
  return `\`${String(s.default)}\``
}

/** A markdown table of a declaration: field, type, default, description. */
export function renderOptionTable(decl: OptionDecl): string {
  const rows = Object.entries(decl).map(([name, o]) => {
    const field = o['x-secret'] ? `\`${name}File\` / \`${name}Env\`` : `\`${name}\``
    const cell = (t: string) => t.replace(/\|/g, '\\|')
    return `| ${field} | ${cell(optionType(o))} | ${cell(optionDefault(o))} | ${cell(o.description)} |`
  })
  return ['| field | type | default | |', '|---|---|---|---|', ...rows].join('\n')
}
