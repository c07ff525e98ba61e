/**
 * `npm run bench`: runs every bench/*.bench.js (compiled) one after another and prints their
 * tables. Benchmarks compare against the peer tool on the same mock in the same run; figures
 * and how to reproduce them are in docs/performance.md. Not a test: nothing here fails a build.
 */
import { readdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const only = process.argv.slice(2)
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.js'))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort()

let failed = 0
for (const f of files) {
  console.log(`\n=== ${f.replace(/\.bench\.js$/, '')} ===`)
  const started = Date.now()
  try {
    const mod = (await import(pathToFileURL(path.join(here, f)).href)) as { default: () => Promise<void> }
    await mod.default()
  } catch (e) {
    failed++
    console.log(`bench ${f} failed: ${(e as Error).stack ?? e}`)
  }
  console.log(`(${((Date.now() - started) / 1000).toFixed(1)} s)`)
}
process.exit(failed ? 1 : 0)
