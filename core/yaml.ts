import { readFileSync } from 'node:fs'
import { LineCounter, type Node, isCollection, parseDocument } from 'yaml'
import type { FieldProblem } from './problems.js'
import { FenceError } from './errors.js'

/**
 * A YAML document that can say on which line a field stands, so every config problem reads
 * `FILE:LINE: field.path: what was expected`.
 */
export class YamlSource {
  readonly value: unknown
  private readonly doc: ReturnType<typeof parseDocument>
  private readonly lines: LineCounter

  constructor(
    readonly file: string,
    text: string,
  ) {
    this.lines = new LineCounter()
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: true })
    const err = this.doc.errors[0]
    if (err) {
      const pos = this.lines.linePos(err.pos[0])
      throw new FenceError(
        'CONFIG_INVALID',
        `${file}:${pos.line}: YAML syntax: ${err.message.split('\n')[0]}`,
      )
    }
    this.value = this.doc.toJS({ maxAliasCount: 100 }) ?? {}
  }

  static read(file: string): YamlSource {
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (e) {
      throw new FenceError(
        'CONFIG_INVALID',
        `${file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      )
    }
    return new YamlSource(file, text)
  }

  /** The line of the deepest node of `path` that exists (1-based). */
  lineOf(path: (string | number)[]): number {
    for (let n = path.length; n >= 0; n--) {
      const node = n === 0 ? this.doc.contents : (this.doc.getIn(path.slice(0, n), true) as Node | undefined)
      if (node && typeof node === 'object' && 'range' in node && node.range) {
        // for a mapping value, point at its key's line where we can
        if (n > 0 && isCollection(this.doc.getIn(path.slice(0, n - 1), true))) {
          const parent = this.doc.getIn(path.slice(0, n - 1), true)
          if (parent && 'items' in parent) {
            for (const item of (parent as { items: unknown[] }).items) {
              const key = (item as { key?: { value?: unknown; range?: [number] } }).key
              if (key && key.value === path[n - 1] && key.range) return this.lines.linePos(key.range[0]).line
            }
          }
        }
        return this.lines.linePos(node.range[0]).line
      }
    }
    return 1
  }

  format(p: FieldProblem): string {
    const field = p.path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i ? `.${k}` : k)).join('')
    return `${this.file}:${this.lineOf(p.path)}: ${field || '(top)'}: ${p.message}`
  }

  /** Throws one CONFIG_INVALID error listing every problem, if there are any. */
  assertNone(problems: FieldProblem[]): void {
    if (problems.length === 0) return
    const lines = problems.map((p) => this.format(p))
    throw new FenceError('CONFIG_INVALID', lines.join('\n'), { problems: lines })
  }
}

export function asMapping(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined
}
