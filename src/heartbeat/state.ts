import { randomBytes } from 'node:crypto'
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs'
import { open, rename } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * What a member keeps across restarts, as heartbeat keeps hb_generation and hb_uuid:
 *
 * - our generation: a restart must come back with a higher one, or peers take our packets for a
 *   replay (they drop a lower generation) and would not know we restarted. It is bumped and
 *   fsynced before the first packet goes out. Heartbeat's counter goes back to 1 if the file is
 *   lost; ours takes max(stored + 1, unix time), so losing the file does not make us a replayer.
 * - our uuid (heartbeat peers key their node table by it).
 * - the highest generation seen of each peer, so a packet recorded before our restart cannot be
 *   replayed to us afterwards. Written in the background (the libuv pool does the fsync, so the
 *   membership loop never waits for the disk).
 */
export interface LocalState {
  generation: number
  uuid: Buffer
  peers: Record<string, number>
}

const FILE = 'state.json'
const PEERS = 'peers.json'

export function bumpGeneration(dir: string, wallSeconds = Math.floor(Date.now() / 1000)): LocalState {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  let old: { generation?: number; uuid?: string } = {}
  try {
    old = JSON.parse(readFileSync(join(dir, FILE), 'utf8'))
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new Error(`heartbeat state ${join(dir, FILE)} is unreadable: ${(e as Error).message}`)
  }
  const prev = Number.isSafeInteger(old.generation) ? old.generation! : 0
  const generation = Math.max(prev + 1, wallSeconds)
  const uuid = old.uuid && /^[0-9a-f]{32}$/.test(old.uuid) ? Buffer.from(old.uuid, 'hex') : randomBytes(16)
  writeDurable(dir, FILE, JSON.stringify({ generation, uuid: uuid.toString('hex') }))
  let peers: Record<string, number> = {}
  try {
    const p = JSON.parse(readFileSync(join(dir, PEERS), 'utf8'))
    if (p && typeof p === 'object')
      peers = Object.fromEntries(Object.entries(p).filter(([, v]) => Number.isSafeInteger(v))) as Record<
        string,
        number
      >
  } catch {
    // no record yet, or a torn write from an old crash: we only lose replay protection until peers speak
  }
  return { generation, uuid, peers }
}

/** write, fsync, rename, fsync the directory: the file is either the old or the new one. */
function writeDurable(dir: string, name: string, text: string): void {
  const tmp = join(dir, `.${name}.tmp`)
  const fd = openSync(tmp, 'w', 0o600)
  try {
    writeSync(fd, text)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, join(dir, name))
  const d = openSync(dir, 'r')
  try {
    fsyncSync(d)
  } finally {
    closeSync(d)
  }
}

/** Saves peers' generations off the event loop; writes coalesce, the last one wins. */
export class PeerGenerations {
  private pending: Record<string, number> | undefined
  private running: Promise<void> | undefined

  constructor(private readonly dir: string) {}

  save(peers: Record<string, number>): void {
    this.pending = { ...peers }
    if (!this.running) this.running = this.flush().finally(() => (this.running = undefined))
  }

  private async flush(): Promise<void> {
    while (this.pending) {
      const data = this.pending
      this.pending = undefined
      const tmp = join(this.dir, `.${PEERS}.tmp`)
      try {
        const fh = await open(tmp, 'w', 0o600)
        try {
          await fh.writeFile(JSON.stringify(data))
          await fh.sync()
        } finally {
          await fh.close()
        }
        await rename(tmp, join(this.dir, PEERS))
      } catch {
        // best effort: a failed write costs replay protection across our next restart only
      }
    }
  }

  /** For shutdown and tests. */
  async idle(): Promise<void> {
    while (this.running) await this.running
  }
}
