/**
 * The option tables of the docs, generated from the declarations (src/config/options.ts).
 * A docs file holds generated blocks between markers:
 *
 *     <!-- options: driver rps10 -->
 *     | field | type | default | |
 *     …
 *     <!-- /options -->
 *
 * test/docs/options-doc.test.ts fails when a block differs from what the code would generate;
 * `npm run docs:options` (UPDATE_DOCS=1 npx vitest run test/docs/options-doc.test.ts) rewrites them.
 */
import { COMMON_DEVICE_OPTIONS, DRIVERS } from '../../drivers/registry.js'
import { type OptionDecl, renderOptionTable } from './options.js'

/** Every block a docs file may hold, by name: `device` (the common fields), `driver <kind>`. */
export function optionBlocks(): Map<string, OptionDecl> {
  const blocks = new Map<string, OptionDecl>([['device', COMMON_DEVICE_OPTIONS]])
  for (const d of DRIVERS.values()) blocks.set(`driver ${d.kind}`, d.options)
  return blocks
}

const BLOCK = /<!-- options: ([^>]+?) -->\n[\s\S]*?<!-- \/options -->/g

/** The block names a text holds, in order. */
export function blockNames(text: string): string[] {
  return [...text.matchAll(BLOCK)].map((m) => m[1]!)
}

/** The text with every generated block rewritten from the declarations; an unknown name throws. */
export function renderBlocks(text: string, blocks = optionBlocks()): string {
  return text.replace(BLOCK, (_all, name: string) => {
    const decl = blocks.get(name)
    if (!decl) throw new Error(`no option declaration for block '${name}'`)
    return `<!-- options: ${name} -->\n${renderOptionTable(decl)}\n<!-- /options -->`
  })
}
