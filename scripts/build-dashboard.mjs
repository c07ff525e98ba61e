// Build the web dashboard (dashboard/*.ts, index.html, style.css) into dist/dashboard/ with esbuild:
// one bundled, minified script and one stylesheet; src/api/dashboard.ts serves them under /.
// Run by `npm run build`; the e2e test runs it too (so it always tests the current sources).
import { copyFileSync, mkdirSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = fileURLToPath(new URL('..', import.meta.url))

export async function buildDashboard(out = `${root}dist/dashboard`) {
  rmSync(out, { recursive: true, force: true })
  mkdirSync(out, { recursive: true })
  const result = await build({
    entryPoints: { app: `${root}dashboard/app.ts`, style: `${root}dashboard/style.css` },
    outdir: out,
    bundle: true,
    minify: true,
    sourcemap: 'linked',
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    metafile: true,
    logLevel: 'warning',
  })
  copyFileSync(`${root}dashboard/index.html`, `${out}/index.html`)
  return result.metafile
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const meta = await buildDashboard()
  const sizes = Object.entries(meta.outputs)
    .filter(([f]) => !f.endsWith('.map'))
    .map(([f, o]) => `${f.split('/').pop()} ${(o.bytes / 1024).toFixed(1)} KiB`)
  console.log(`dashboard: ${sizes.join(', ')}`)
}
