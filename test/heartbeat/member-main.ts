/**
 * One cluster member for the namespace tests and the bench: `node member-main.js SPEC.json`,
 * run inside a network namespace (and a pid namespace, so that the other-authority guard sees
 * only what the test started there). It runs the real HeartbeatService (worker thread, real
 * links) and prints JSON lines: ready, every event, fence calls, snapshots. stdin takes
 * `snapshot` and `stop`.
 *
 * Fencing target: without `engine`, a fake power switch — the fencer appends to
 * `<powerDir>/fence.log` and writes `off` to `<powerDir>/power-<victim>`; every member watches its
 * own power file and, when it reads `off`, its whole pid namespace dies by SIGKILL (no goodbye), as a node does
 * when its power is cut. With `engine`, fencing goes through the real FenceEngine (see
 * engine-fence.test.ts).
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { loadConfig } from '../../src/config/config.js'
import { Engine } from '../../src/engine/engine.js'
import type { HeartbeatConfig } from '../../src/heartbeat/config.js'
import { startHeartbeat } from '../../src/heartbeat/index.js'
import { type HeartbeatDeps, HeartbeatService } from '../../src/heartbeat/service.js'

export interface MemberSpec {
  config: HeartbeatConfig
  powerDir: string
  /** Members whose (fake) fence devices this one reaches. Default: all others. */
  reach?: string[]
  /** How long the fake switch takes to cut the power (a real PDU or BMC takes seconds). Default 1500 ms. */
  fenceDelayMs?: number
  /**
   * A gateway config file with a heartbeat section: run as `fencegate serve` does — the real
   * engine fences (initiator heartbeat) and the engine's journal gets the membership events.
   */
  engineConfig?: string
}

const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as MemberSpec
const self = spec.config.node
const say = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`)
const powerFile = (n: string) => `${spec.powerDir}/power-${n}`

// the power switch of this node
const watch = setInterval(() => {
  let s = ''
  try {
    s = readFileSync(powerFile(self), 'utf8')
  } catch {}
  if (s.trim() === 'off') {
    say({ type: 'powered-off' })
    // power cut: every process of this node's pid namespace at once (the membership process
    // too), with no goodbye
    try {
      process.kill(-1, 'SIGKILL')
    } catch {}
    process.kill(process.pid, 'SIGKILL')
  }
}, 20)

async function main(): Promise<void> {
  let engine: Engine | undefined
  let hb: HeartbeatService
  const common = {
    workerUrl: new URL('../../src/heartbeat/worker.js', import.meta.url),
    guardIntervalMs: 300,
    reachIntervalMs: 200,
    log: (level: string, msg: string) => say({ type: 'log', level, msg }),
  }
  try {
    if (spec.engineConfig) {
      const gateway = loadConfig(spec.engineConfig)
      engine = await Engine.create(gateway)
      hb = (await startHeartbeat(gateway, engine, engine.journal, common))!
    } else {
      const deps: HeartbeatDeps = {
        fence: async (victim, action) => {
          appendFileSync(
            `${spec.powerDir}/fence.log`,
            `${JSON.stringify({ fencer: self, victim, action, at: Date.now() })}\n`,
          )
          say({ type: 'fence', victim, action })
          await new Promise((r) => setTimeout(r, spec.fenceDelayMs ?? 1500))
          writeFileSync(powerFile(victim), 'off')
          return { ok: true }
        },
        reach: () => spec.reach ?? spec.config.nodes.filter((n) => n !== self),
      }
      hb = await HeartbeatService.start(spec.config, { ...deps, ...common })
    }
  } catch (e) {
    say({ type: 'refused', error: (e as Error).message })
    clearInterval(watch)
    await engine?.close()
    process.exitCode = 3
    return
  }
  // what happened between the membership process's ready and now (a peer already up, a ping
  // node answering) was emitted before this listener: replay it, in the same tick, then listen
  for (const r of hb.recent) say({ type: 'event', at: r.at, event: r.event })
  hb.on('event', (event, at) => say({ type: 'event', at, event }))
  say({ type: 'ready', generation: hb.generation, pid: process.pid })
  const rl = createInterface({ input: process.stdin })
  rl.on('line', (line) => {
    const cmd = line.trim()
    if (cmd === 'snapshot')
      hb.snapshot().then(
        (snapshot) => say({ type: 'snapshot', snapshot }),
        (e) => say({ type: 'error', error: String(e) }),
      )
    else if (cmd === 'stop')
      void hb.stop().then(async () => {
        clearInterval(watch)
        await engine?.close()
        say({ type: 'stopped' })
        process.exit(0)
      })
  })
  rl.on('close', () => process.exit(0))
}

void main()
