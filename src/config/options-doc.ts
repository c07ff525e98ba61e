/**
 * The option tables of the docs, generated from the declarations (core/options.ts).
 * A docs file holds generated blocks between markers:
 *
 *     <!-- options: driver rps10 -->   (or device, lab, mock <kind>)
 *     | field | type | default | |
 *     …
 *     <!-- /options -->
 *
 * test/docs/options-doc.test.ts fails when a block differs from what the code would generate;
 * `npm run docs:options` (UPDATE_DOCS=1 npx vitest run test/docs/options-doc.test.ts) rewrites them.
 */
import { COMMON_DEVICE_OPTIONS, DRIVERS } from '../../drivers/registry.js'
import { COMMON_LAB_OPTIONS } from '../../firmware-mocks/lab-file.js'
import { MOCKS } from '../../firmware-mocks/registry.js'
import { type OptionDecl, renderOptionTable } from '../../core/options.js'

/**
 * Every block a docs file may hold, by name: `device` (the fields of every device section),
 * `driver <kind>`, `lab` (the fields of every lab device), `mock <kind>` (a mock's own).
 */
export function optionBlocks(): Map<string, OptionDecl> {
  const blocks = new Map<string, OptionDecl>([['device', COMMON_DEVICE_OPTIONS]])
  for (const d of DRIVERS.values()) blocks.set(`driver ${d.kind}`, d.options)
  blocks.set('lab', COMMON_LAB_OPTIONS)
  for (const m of MOCKS.values()) blocks.set(`mock ${m.kind}`, m.options)
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
    const table = Object.keys(decl).length ? renderOptionTable(decl) : '(no fields of its own)'
    return `<!-- options: ${name} -->\n${table}\n<!-- /options -->`
  })
}
