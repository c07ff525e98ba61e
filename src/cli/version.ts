import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The package version, from the fencegate package.json above this file (src/ or dist/src/):
 * `fencegate --version` and `fence_fencegate -V`. Light on purpose (the fence agent imports it).
 */
declare const FENCEGATE_VERSION: string | undefined

export function version(): string {
  // set by the agent's bundle (scripts/build-agent.mjs)
  if (typeof FENCEGATE_VERSION === 'string') return FENCEGATE_VERSION
  let dir = path.dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
        name?: string
        version?: string
      }
      if (pkg.name === 'fencegate' && pkg.version) return pkg.version
    } catch {}
    dir = path.dirname(dir)
  }
  return 'unknown'
}
