import { readFileSync, writeFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { DRIVERS } from '../../drivers/registry.js'
import { MOCKS } from '../../firmware-mocks/registry.js'
import { blockNames, optionBlocks, renderBlocks } from '../../src/config/options-doc.js'

/**
 * The option tables of the docs are generated from the drivers' declarations (as docs/api.md
 * is from the OpenAPI document): a table that differs from the code fails here.
 * `npm run docs:options` (UPDATE_DOCS=1) rewrites the blocks.
 */
const doc = (p: string) => new URL(`../../docs/${p}`, import.meta.url)

const FILES = ['configuration.md', 'lab.md', ...[...DRIVERS.keys()].map((k) => `drivers/${k}.md`)]

describe('generated option tables', () => {
  it.each(FILES)('docs/%s is up to date with the option declarations', (file) => {
    const text = readFileSync(doc(file), 'utf8')
    const fresh = renderBlocks(text)
    if (process.env.UPDATE_DOCS && fresh !== text) writeFileSync(doc(file), fresh)
    expect(readFileSync(doc(file), 'utf8'), `docs/${file} is stale: npm run docs:options`).toBe(fresh)
  })

  it('configuration.md: the common device fields and every driver; each driver page its own; lab.md: every mock', () => {
    const config = blockNames(readFileSync(doc('configuration.md'), 'utf8'))
    expect(config).toEqual(['device', ...[...DRIVERS.keys()].map((k) => `driver ${k}`)])
    for (const kind of DRIVERS.keys())
      expect(blockNames(readFileSync(doc(`drivers/${kind}.md`), 'utf8'))).toContain(`driver ${kind}`)
    const lab = blockNames(readFileSync(doc('lab.md'), 'utf8'))
    expect(lab).toEqual(['lab', ...[...MOCKS.keys()].map((k) => `mock ${k}`)])
    expect([...optionBlocks().keys()]).toEqual([...config, ...lab])
  })
})
