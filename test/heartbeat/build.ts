import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, symlinkSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/**
 * The membership worker and the namespace member entry run as plain node (a worker thread and
 * `ip netns exec … node` cannot load .ts), so the tests compile the heartbeat and what it imports
 * to /tmp/fghb-build-<checkout> first (incremental, under a lock: test files run in parallel).
 * One directory per checkout: several work trees on one machine must not run each other's
 * compiled members. Type errors elsewhere in the tree do not stop the emit.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const BUILD = `/tmp/fghb-build-${createHash('sha256').update(ROOT).digest('hex').slice(0, 12)}`

export function ensureBuilt(): string {
  const project = fileURLToPath(new URL('./tsconfig.build.json', import.meta.url))
  const root = ROOT
  try {
    execFileSync(
      'flock',
      [
        `${BUILD}.lock`,
        'npx',
        'tsc',
        '-p',
        project,
        '--outDir',
        BUILD,
        '--tsBuildInfoFile',
        `${BUILD}/.tsbuildinfo`,
      ],
      {
        cwd: root,
        stdio: 'pipe',
        timeout: 120_000,
      },
    )
  } catch (e) {
    // tsc exits non-zero on type errors anywhere in the program; the JS is emitted regardless
    const out = String((e as { stdout?: Buffer }).stdout ?? '')
    const mine = out.split('\n').filter((l) => /heartbeat/.test(l))
    if (mine.length) throw new Error(`heartbeat build failed:\n${mine.join('\n')}`)
  }
  // the compiled files import packages: let node find ours
  mkdirSync(BUILD, { recursive: true })
  if (!existsSync(`${BUILD}/node_modules`)) symlinkSync(`${root}/node_modules`, `${BUILD}/node_modules`)
  if (!existsSync(`${BUILD}/package.json`)) symlinkSync(`${root}/package.json`, `${BUILD}/package.json`)
  return BUILD
}

export const workerUrl = (): URL => new URL(`file://${BUILD}/src/heartbeat/worker.js`)
export const memberMain = (): string => `${BUILD}/test/heartbeat/member-main.js`
