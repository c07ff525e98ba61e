import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, symlinkSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/**
 * The membership worker and the namespace member entry run as plain node (a worker thread and
 * `ip netns exec … node` cannot load .ts), so the tests compile the heartbeat and what it imports
 * to /tmp/fghb-build first (incremental, under a lock: test files run in parallel). Type errors
 * elsewhere in the tree do not stop the emit.
 */
export const BUILD = '/tmp/fghb-build'

export function ensureBuilt(): string {
  const project = fileURLToPath(new URL('./tsconfig.build.json', import.meta.url))
  const root = fileURLToPath(new URL('../..', import.meta.url))
  try {
    execFileSync('flock', ['/tmp/fghb-build.lock', 'npx', 'tsc', '-p', project], {
      cwd: root,
      stdio: 'pipe',
      timeout: 120_000,
    })
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
