import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { DRIVERS } from '../../drivers/registry.js'
import { MOCKS } from '../../firmware-mocks/registry.js'
import { blockNames } from '../../src/config/options-doc.js'
import { PAIRS } from '../pairs.js'

/**
 * The recipe of docs/drivers/README.md, checked: every driver kind has its mock, its pairs
 * entry (so it joins the conformance and fault suites), and its docs page with the generated
 * option table; and every path the docs name still exists.
 */
const ROOT = path.resolve(new URL('../..', import.meta.url).pathname)

describe('a device family is a driver, a mock, a pairs entry and a docs page', () => {
  it.each([...DRIVERS.keys()])('%s', (kind) => {
    const mocks = [...MOCKS.values()].filter((m) => m.driver === kind)
    expect(mocks.length, `no mock in firmware-mocks/registry.ts with driver: '${kind}'`).toBeGreaterThan(0)
    const pairs = PAIRS.filter((p) => mocks.some((m) => m.kind === p.lab.kind))
    expect(pairs.length, `no entry in test/pairs.ts for a mock of ${kind}`).toBeGreaterThan(0)
    const page = path.join(ROOT, 'docs/drivers', `${kind}.md`)
    expect(existsSync(page), `no docs/drivers/${kind}.md`).toBe(true)
    expect(blockNames(readFileSync(page, 'utf8'))).toContain(`driver ${kind}`)
    expect(readFileSync(path.join(ROOT, 'docs/drivers/README.md'), 'utf8')).toContain(`(${kind}.md)`)
  })

  it('every mock talks to a registered driver', () => {
    for (const m of MOCKS.values()) expect([...DRIVERS.keys()], m.kind).toContain(m.driver)
  })
})

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f)
    return statSync(p).isDirectory() ? walk(p) : [p]
  })
}

/** `src/…`, `drivers/…`, `test/…` and the like in the text, and relative markdown links. */
const PATH =
  /(?<![\w/.@:-])((?:src|drivers|firmware-mocks|protocols|test|docs|scripts|bench|core)\/[\w./*{}-]*[\w/*}])/g
const LINK = /\]\(([^)#:\s]+)(?:#[^)]*)?\)/g

describe('paths named in the docs', () => {
  const files = [
    ...walk(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')),
    path.join(ROOT, 'README.md'),
  ]
  it.each(files.map((f) => path.relative(ROOT, f)))('%s names only paths that exist', (file) => {
    const text = readFileSync(path.join(ROOT, file), 'utf8')
    const here = path.dirname(path.join(ROOT, file))
    const missing: string[] = []
    for (const m of text.matchAll(PATH)) {
      const p = m[1]!
      if (p.includes('*') || p.includes('{')) continue // a pattern, not a path
      // from the repository, or (docs/configuration.md naming drivers/rps10.md) from the page
      if (!existsSync(path.join(ROOT, p)) && !existsSync(path.join(here, p))) missing.push(p)
    }
    for (const m of text.matchAll(LINK)) if (!existsSync(path.join(here, m[1]!))) missing.push(m[1]!)
    expect(missing).toEqual([])
  })
})
