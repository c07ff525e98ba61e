// Preloaded into the gateway by test/e2e/crash-loop.test.ts (node --import): every fdatasync
// and fsync of a file takes FENCEGATE_TEST_SYNC_MS longer, as on a busy disk, so records wait
// in the journal's queue long enough for a SIGKILL to find some there. Test rig only.
import { open } from 'node:fs/promises'

const ms = Number(process.env.FENCEGATE_TEST_SYNC_MS ?? 10)
const fh = await open(process.execPath, 'r')
const proto = Object.getPrototypeOf(fh)
await fh.close()
for (const name of ['datasync', 'sync']) {
  const real = proto[name]
  proto[name] = async function (...args) {
    await new Promise((r) => setTimeout(r, ms))
    return real.apply(this, args)
  }
}
