import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const SOURCES = ['src', 'drivers', 'firmware-mocks', 'protocols']

function newestSource(dir: string): number {
  let newest = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p))
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs)
  }
  return newest
}

/**
 * The compiled `fencegate` bin. The repo's dist/ when `npm run build` is newer than every source;
 * otherwise a build of its own in a temp dir (incremental, so later runs are quick), leaving the
 * shared dist/ alone. Type errors elsewhere do not stop tsc from emitting.
 */
export async function fencegateBin(): Promise<string> {
  const dist = path.join(ROOT, 'dist/src/cli/main.js')
  const newest = Math.max(
    ...SOURCES.filter((s) => existsSync(path.join(ROOT, s))).map((s) => newestSource(path.join(ROOT, s))),
  )
  if (existsSync(dist) && statSync(dist).mtimeMs > newest) return dist
  // one build dir per checkout: its node_modules link must be this checkout's (worktrees differ)
  const tag = createHash('sha256').update(ROOT).digest('hex').slice(0, 8)
  const out = path.join(tmpdir(), `fencegate-e2e-build-${process.getuid?.() ?? 0}-${tag}`)
  mkdirSync(out, { recursive: true })
  const lock = path.join(out, 'lock')
  for (let i = 0; ; i++) {
    try {
      mkdirSync(lock)
      break
    } catch {
      if (i > 1200) rmSync(lock, { recursive: true, force: true }) // a build that died holding it
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  try {
    if (!existsSync(path.join(out, 'node_modules')))
      symlinkSync(path.join(ROOT, 'node_modules'), path.join(out, 'node_modules'))
    // the bin finds its version in the package.json above it
    copyFileSync(path.join(ROOT, 'package.json'), path.join(out, 'package.json'))
    await new Promise<void>((resolve) => {
      execFile(
        process.execPath,
        [
          path.join(ROOT, 'node_modules/typescript/bin/tsc'),
          '-p',
          path.join(ROOT, 'tsconfig.build.json'),
          '--outDir',
          path.join(out, 'dist'),
          '--incremental',
          '--tsBuildInfoFile',
          path.join(out, 'tsbuildinfo'),
        ],
        { cwd: ROOT },
        () => resolve(), // type errors in someone's work in progress still emit JavaScript
      )
    })
  } finally {
    rmSync(lock, { recursive: true, force: true })
  }
  const bin = path.join(out, 'dist/src/cli/main.js')
  if (!existsSync(bin)) throw new Error(`the build did not produce ${bin}`)
  return bin
}
