import { type ChildProcess, fork } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import type { Call } from '../drivers/driver.js'
import { dummyDriver } from '../drivers/dummy/index.js'
import { readLab } from '../firmware-mocks/lab-file.js'
import { Lab } from '../firmware-mocks/lab.js'
import { readConfig } from '../src/config/config.js'
import { hashToken } from '../src/api/auth.js'
import { Engine } from '../src/engine/engine.js'
import { median, percentile } from './lib.js'

/**
 * The gateway's own cost, three figures (docs/performance.md, "REST API and engine"):
 *
 * 1. Engine overhead of one verified `off` with the dummy driver at zero transition delay:
 *    median of engine.power(off) minus the median of the bare device rounds it needs
 *    (cancelPending + status + set + status, called on the driver directly, same mock),
 *    with the journal on tmpfs (/dev/shm) and on disk (its fsyncs). Goal: < 1 ms on tmpfs.
 * 2. One bulk status of 1,000 plugs on 50 dummy devices through the REST API (real HTTP on
 *    loopback, GET /v1/nodes?refresh=true), beside engine.status in the gateway's process
 *    (what HTTP and JSON add). Goal: ≤ 200 ms.
 * 3. The gateway's RSS with those 1,000 plugs configured, after the bulk status, measured in
 *    the child process that runs it (the mocks run here). Goal: ≤ 120 MB.
 */

const OPS = 300
const WARMUP = 30
const BULK_RUNS = 15
const DEVICES = 50
const PLUGS = 20

const ms = (x: number) => x.toFixed(3).padStart(8)

function fsType(dir: string): string {
  // the longest mount point that contains dir
  let best = { mp: '', type: '?' }
  for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const [, mp, type] = line.split(' ')
    if (
      mp &&
      type &&
      (dir === mp || dir.startsWith(mp.endsWith('/') ? mp : `${mp}/`)) &&
      mp.length > best.mp.length
    )
      best = { mp, type }
  }
  return best.type
}

async function engineOverhead(
  base: string,
): Promise<{ engine: number; bare: number; engineCpu: number; bareCpu: number; fs: string }> {
  const dir = mkdtempSync(path.join(base, 'fencegate-bench-'))
  const { lab: spec } = readLab({ devices: { pdu: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 2 } } })
  const lab = await Lab.start(spec)
  let engine: Engine | undefined
  try {
    const { config, problems } = readConfig({
      journal: path.join(dir, 'journal.jsonl'),
      engine: { probeInterval: 0 },
      devices: lab.driverSections(),
      nodes: { n1: { plugs: ['pdu:1'] } },
    })
    if (problems.length) throw new Error(JSON.stringify(problems))
    engine = await Engine.create(config)
    const sim = lab.device('pdu')!.sim
    const section = { ...lab.driverSections().pdu! }
    delete section.driver
    const { config: dc } = dummyDriver.validate(section)
    const driver = dummyDriver.create(dc, { deviceId: 'bare', readSecret: () => '', log: () => {} })
    const call: Call = { signal: new AbortController().signal }
    const initiator = { name: 'bench', role: 'operator' as const, via: 'bench' }

    const viaEngine = async () => {
      sim.setPhysical('1', 'on')
      const t = performance.now()
      const op = await engine!.power('n1', 'off', { initiator })
      const d = performance.now() - t
      const r = op.results[0]!
      if (op.status !== 'succeeded' || r.already || r.state !== 'off')
        throw new Error(`engine off: ${JSON.stringify(r)}`)
      return d
    }
    const bare = async () => {
      sim.setPhysical('1', 'on')
      const t = performance.now()
      await driver.cancelPending?.(['1'], call)
      await driver.status(['1'], call)
      await driver.set('1', 'off', call)
      const s = await driver.status(['1'], call)
      const d = performance.now() - t
      if (s.get('1') !== 'off') throw new Error('bare off did not read back off')
      return d
    }
    for (let i = 0; i < WARMUP; i++) {
      await viaEngine()
      await bare()
    }
    const e: number[] = []
    const b: number[] = []
    // interleaved, so both see the same machine load
    // CPU time of this process (engine, driver and mock alike) per op: unlike wall time it
    // hardly moves when other work shares the machine
    let eCpu = 0
    let bCpu = 0
    const cpu = () => {
      const u = process.cpuUsage()
      return (u.user + u.system) / 1000
    }
    for (let i = 0; i < OPS; i++) {
      let c = cpu()
      e.push(await viaEngine())
      eCpu += cpu() - c
      c = cpu()
      b.push(await bare())
      bCpu += cpu() - c
    }
    await driver.close()
    return { engine: median(e), bare: median(b), engineCpu: eCpu / OPS, bareCpu: bCpu / OPS, fs: fsType(dir) }
  } finally {
    await engine?.close()
    await lab.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

interface Child {
  proc: ChildProcess
  ask<T>(msg: object, reply: string): Promise<T>
}

function startChild(execArgv: string[]): Promise<Child> {
  const proc = fork(fileURLToPath(new URL('./gateway-child.js', import.meta.url)), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv,
  })
  const ask = <T>(msg: object, reply: string) =>
    new Promise<T>((resolve, reject) => {
      const on = (m: { type: string; message?: string }) => {
        if (m.type === 'error') reject(new Error(m.message))
        else if (m.type !== reply) return
        else resolve(m as T)
        proc.off('message', on)
      }
      proc.on('message', on)
      proc.send(msg)
    })
  return new Promise((resolve, reject) => {
    proc.once('error', reject)
    proc.once('message', () => resolve({ proc, ask }))
  })
}

type Memory = NodeJS.MemoryUsage

async function bulkStatus(execArgv: string[] = []): Promise<{
  http: number[]
  direct: number[]
  bytes: number
  /** The very first bulk status (connections opened on the way). */
  first: number
  atStart: Memory
  afterFirst: Memory
  after: Memory
}> {
  const devices: Record<string, unknown> = {}
  for (let d = 1; d <= DEVICES; d++)
    devices[`pdu${d}`] = { kind: 'dummy', listen: '127.0.0.1:0', plugs: PLUGS }
  const { lab: spec, problems: lp } = readLab({ devices })
  if (lp.length) throw new Error(JSON.stringify(lp))
  const lab = await Lab.start(spec)
  const dir = mkdtempSync(path.join(tmpdir(), 'fencegate-bench-'))
  const token = randomBytes(24).toString('hex')
  const nodes: Record<string, unknown> = {}
  for (let d = 1; d <= DEVICES; d++)
    for (let p = 1; p <= PLUGS; p++) nodes[`n${(d - 1) * PLUGS + p}`] = { plugs: [`pdu${d}:${p}`] }
  let child: Child | undefined
  try {
    child = await startChild(execArgv)
    const { url, memory: atStart } = await child.ask<{ url: string; memory: Memory }>(
      {
        type: 'start',
        doc: {
          listen: '127.0.0.1:0',
          journal: path.join(dir, 'journal.jsonl'),
          auth: {
            tokens: [{ name: 'bench', role: 'viewer', hash: `sha256:${hashToken(token).toString('hex')}` }],
          },
          devices: lab.driverSections(),
          nodes,
        },
      },
      'ready',
    )
    const headers = { authorization: `Bearer ${token}` }
    const http: number[] = []
    let bytes = 0
    let first = 0
    let afterFirst: Memory | undefined
    for (let i = 0; i < BULK_RUNS + 2; i++) {
      const t = performance.now()
      const r = await fetch(`${url}/v1/nodes?refresh=true`, { headers })
      const body = (await r.json()) as { nodes: { state: string }[] }
      const d = performance.now() - t
      if (
        r.status !== 200 ||
        body.nodes.length !== DEVICES * PLUGS ||
        body.nodes.some((n) => n.state !== 'on')
      )
        throw new Error(`bulk status: HTTP ${r.status}, ${body.nodes?.length} nodes`)
      bytes = Number(r.headers.get('content-length') ?? 0)
      if (i === 0) {
        first = d
        afterFirst = (await child.ask<{ memory: Memory }>({ type: 'rss' }, 'rss')).memory
      }
      if (i >= 2) http.push(d) // two warm-up rounds (connections to 50 devices, JIT)
    }
    const { times: direct } = await child.ask<{ times: number[] }>(
      { type: 'direct', runs: BULK_RUNS },
      'direct',
    )
    const { memory: after } = await child.ask<{ memory: Memory }>({ type: 'rss' }, 'rss')
    return { http, direct, bytes, first, atStart, afterFirst: afterFirst!, after }
  } finally {
    if (child) {
      const exited = new Promise((r) => child!.proc.once('exit', r))
      child.proc.send({ type: 'stop' })
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))])
      child.proc.kill()
    }
    await lab.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

const SMALL_YOUNG_GEN = ['--max-semi-space-size=2']

export default async function run(): Promise<void> {
  console.log(`engine overhead: verified off, dummy driver, zero delay (median of ${OPS}, interleaved)`)
  console.log('                          wall (median)                     CPU (mean)')
  console.log('journal on        fs      engine ms  bare ms  overhead ms    engine ms  bare ms  overhead ms')
  for (const [label, base] of [
    ['tmpfs (/dev/shm)', '/dev/shm'],
    ['disk (/var/tmp)', '/var/tmp'],
  ] as const) {
    const r = await engineOverhead(base)
    console.log(
      `${label.padEnd(17)} ${r.fs.padEnd(5)} ${ms(r.engine)} ${ms(r.bare)} ${ms(r.engine - r.bare)}     ${ms(r.engineCpu)} ${ms(r.bareCpu)} ${ms(r.engineCpu - r.bareCpu)}`,
    )
  }

  const mb = (x: number) => `${(x / 1024 ** 2).toFixed(1)}`.padStart(7)
  for (const flags of [[], SMALL_YOUNG_GEN]) {
    const b = await bulkStatus(flags)
    console.log(
      `\nbulk status: ${DEVICES * PLUGS} plugs (nodes) on ${DEVICES} dummy devices, gateway node ${flags.join(' ') || '(default V8 flags)'}`,
    )
    console.log(`path (${BULK_RUNS} runs after 2 warm-ups)              median ms   p90 ms`)
    console.log(
      `GET /v1/nodes?refresh=true over HTTP          ${ms(median(b.http))}  ${ms(percentile(b.http, 90))}`,
    )
    console.log(
      `engine.status in the gateway process          ${ms(median(b.direct))}  ${ms(percentile(b.direct, 90))}`,
    )
    console.log(
      `what HTTP + JSON add (${(b.bytes / 1024).toFixed(0)} KiB answer)         ${ms(median(b.http) - median(b.direct))}`,
    )
    console.log(`the very first one (opens 50 connections)     ${ms(b.first)}`)
    console.log('gateway process memory (MB)           RSS  heap total  heap used')
    for (const [label, m] of [
      ['started, 1,000 plugs configured', b.atStart],
      ['after the first bulk status    ', b.afterFirst],
      [`after all ${BULK_RUNS * 2 + 2} bulk statuses    `, b.after],
    ] as const)
      console.log(`${label}    ${mb(m.rss)}     ${mb(m.heapTotal)}    ${mb(m.heapUsed)}`)
  }
}
