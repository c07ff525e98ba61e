#!/usr/bin/env node
// The fence agent as it ships: src/agent/main.ts and everything it imports bundled into one
// CommonJS file, dist/fence_fencegate.cjs (the `fence_fencegate` bin). Pacemaker starts the
// agent for every fence, monitor and list: one file and no ESM loader make it start within a
// few ms of a bare `node -e 0` (docs/performance.md). Modules reached only by a dynamic
// import (HTTP, TLS, the token script) are still initialised only when an action needs them.
// Run by `npm run build` and by scripts/install-agent.sh.
import { chmodSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'))
const outfile = path.join(root, 'dist/fence_fencegate.cjs')
await build({
  entryPoints: [path.join(root, 'src/agent/main.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // the package version is known here: the bundle reads no package.json at run time
  define: { FENCEGATE_VERSION: JSON.stringify(version) },
  // version.ts's import.meta fallback is for the tsc build only
  logOverride: { 'empty-import-meta': 'silent' },
  logLevel: 'warning',
  legalComments: 'none',
})
chmodSync(outfile, 0o755)
