import { readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

/**
 * The tree reads bottom-up: core (errors, deadlines, types, the field and YAML readers, option
 * declarations) and protocols (wire codecs) → drivers → firmware-mocks → src (the application:
 * engine, API, CLI, agent, heartbeat, demo) → bench. Nothing imports a layer above its own;
 * only tests (`*.test.ts`) may also import test/ helpers.
 */
const ROOT = fileURLToPath(new URL('../', import.meta.url))
const RANK: Record<string, number> = {
  core: 0,
  protocols: 0,
  drivers: 1,
  'firmware-mocks': 2,
  src: 3,
  dashboard: 3,
  bench: 4,
}
const SPECIFIER = /(?:\bfrom|\bimport)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g

function* tsFiles(dir: string): Generator<string> {
  for (const e of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = path.join(dir, e.name)
    if (e.isDirectory()) yield* tsFiles(rel)
    else if (e.name.endsWith('.ts')) yield rel
  }
}

/** Every relative import in `files` that points above its file's layer: `from -> to`. */
function violations(files: Iterable<{ file: string; text: string }>): string[] {
  const bad: string[] = []
  for (const { file, text } of files) {
    const layer = file.split(path.sep)[0]!
    for (const m of text.matchAll(SPECIFIER)) {
      const target = path.normalize(path.join(path.dirname(file), m[1]!))
      const top = target.split(path.sep)[0]!
      if (top === 'test' && file.endsWith('.test.ts')) continue
      if (!(top in RANK) || RANK[top]! > RANK[layer]!) bad.push(`${file} -> ${target}`)
    }
  }
  return bad
}

function* repository(): Generator<{ file: string; text: string }> {
  for (const layer of Object.keys(RANK))
    for (const file of tsFiles(layer)) yield { file, text: readFileSync(path.join(ROOT, file), 'utf8') }
}

describe('layering', () => {
  it('nothing imports a layer above its own (core, protocols → drivers → firmware-mocks → src → bench)', () => {
    expect(violations(repository())).toEqual([])
  })

  it('an import that goes up, or into test/ from code, is reported; one that goes down is not', () => {
    const files = [
      { file: 'core/x.ts', text: "import { Engine } from '../src/engine/engine.js'" },
      { file: 'drivers/d/index.ts', text: "import type { MockDevice } from '../../firmware-mocks/mock.js'" },
      { file: 'src/api/a.ts', text: "export { x } from '../../test/helpers/gateway.js'" },
      {
        file: 'firmware-mocks/m.ts',
        text: "import { FenceError } from '../core/errors.js'\nconst d = await import('../drivers/registry.js')",
      },
      {
        file: 'src/engine/e.test.ts',
        text: "import { FakeDriver } from '../../test/helpers/fake-driver.js'",
      },
    ]
    expect(violations(files)).toEqual([
      'core/x.ts -> src/engine/engine.js',
      'drivers/d/index.ts -> firmware-mocks/mock.js',
      'src/api/a.ts -> test/helpers/gateway.js',
    ])
  })
})
