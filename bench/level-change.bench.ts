import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { readLab } from '../firmware-mocks/lab-file.js'
import { Lab } from '../firmware-mocks/lab.js'
import type { DeviceSimulator } from '../firmware-mocks/simulator.js'
import { readConfig } from '../src/config/config.js'
import type { Initiator } from '../core/types.js'
import { Engine } from '../src/engine/engine.js'
import type { NodeResult } from '../src/engine/types.js'
import { median, printTable } from './lib.js'

/**
 * Fencing levels: how soon a dead first level hands over to the second (docs/performance.md,
 * "Fencing levels"; issue 9, defect 6). Two nodes, each fenced RUNS times through the engine:
 *
 * - `bmc-dead`: level 1 = a BMC that answers nothing (the BMC mock with a `drop` fault, ipmi
 *   driver defaults: unreachableTimeout 2 s), level 2 = an outlet of an APC rPDU mock;
 * - `snmp-dead`: level 1 = an APC PDU that answers nothing (the rPDU mock with a `drop` fault,
 *   apc-snmp driver defaults: 600 ms × 3 tries), level 2 = an outlet of the healthy rPDU.
 *
 * Measured from the moment engine.fence() is called:
 * - level 2 started: the first request the level-2 PDU receives (the mock's fault hook runs once
 *   per received datagram), wall clock in this process;
 * - level-1 attempts: the sum of the result's level-1 attempt durations (what the result says
 *   the first level cost);
 * - fence done: the whole fence, verified off at level 2.
 * Goal: level 2 started ≤ 2.2 s after the fence began (one unreachable timeout, no retry of a
 * device that gave no answer while another level remains).
 */

const RUNS = 5
const FENCER: Initiator = { name: 'bench', role: 'fencer', via: 'bench' }
const GOAL_MS = 2200

/** Records when the simulator's protocol side receives its first request after each reset(). */
function firstRequest(sim: DeviceSimulator): { at: () => number | undefined; reset: () => void } {
  let at: number | undefined
  const decide = sim.faults.decide.bind(sim.faults)
  sim.faults.decide = () => {
    at ??= performance.now()
    return decide()
  }
  return {
    at: () => at,
    reset: () => {
      at = undefined
    },
  }
}

interface Sample {
  level2Ms: number
  level1AttemptsMs: number
  totalMs: number
}

export default async function run(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'fg-bench-levels-'))
  const { lab: spec, problems } = readLab({
    devices: {
      bmc: {
        kind: 'bmc',
        listen: '127.0.0.1:0',
        users: [{ name: 'admin', password: 'bench-Pass-1', privilege: 'administrator' }],
      },
      deadpdu: { kind: 'apc-pdu', model: 'rPDU', plugs: 8, listen: '127.0.0.1:0' },
      pdu: { kind: 'apc-pdu', model: 'rPDU', plugs: 8, listen: '127.0.0.1:0' },
    },
  })
  if (problems.length) throw new Error(JSON.stringify(problems))
  const lab = await Lab.start(spec)
  let engine: Engine | undefined
  try {
    const bmc = lab.device('bmc')!
    const dead = lab.device('deadpdu')!
    const pdu = lab.device('pdu')!
    bmc.sim.faults.add({ type: 'drop' })
    dead.sim.faults.add({ type: 'drop' })
    const { config, problems: cp } = readConfig({
      journal: path.join(dir, 'journal.jsonl'),
      engine: { probeInterval: 0, powerWait: '0ms' },
      devices: lab.driverSections(),
      nodes: {
        'bmc-dead': { levels: [['bmc'], ['pdu:1']] },
        'snmp-dead': { levels: [['deadpdu:1'], ['pdu:2']] },
      },
    })
    if (cp.length) throw new Error(JSON.stringify(cp))
    engine = await Engine.create(config)
    const level2 = firstRequest(pdu.sim)

    const fence = async (node: string, plug: string): Promise<Sample> => {
      pdu.sim.setPhysical(plug, 'on')
      bmc.sim.setPhysical('chassis', 'on')
      dead.sim.setPhysical('1', 'on')
      level2.reset()
      const t0 = performance.now()
      const op = await engine!.fence(node, 'off', { initiator: FENCER, timeoutMs: 60_000 })
      const totalMs = performance.now() - t0
      const r: NodeResult = op.results[0]!
      const at = level2.at()
      if (op.status !== 'succeeded' || r.level !== 2 || pdu.sim.state(plug) !== 'off' || at === undefined)
        throw new Error(`${node}: fence did not end off at level 2: ${JSON.stringify(r)}`)
      const level1AttemptsMs = r.attempts.filter((a) => a.level === 1).reduce((s, a) => s + a.durationMs, 0)
      return { level2Ms: at - t0, level1AttemptsMs, totalMs }
    }

    const rows: string[][] = []
    for (const [node, plug, what] of [
      ['bmc-dead', '1', 'dead BMC (ipmi, unreachableTimeout 2 s)'],
      ['snmp-dead', '2', 'silent APC PDU (apc-snmp, 600 ms x 3)'],
    ] as const) {
      const samples: Sample[] = []
      for (let i = 0; i < RUNS; i++) samples.push(await fence(node, plug))
      const l2 = median(samples.map((s) => s.level2Ms))
      rows.push([
        `level 1 = ${what}`,
        `${(l2 / 1000).toFixed(2)} s`,
        `${(median(samples.map((s) => s.level1AttemptsMs)) / 1000).toFixed(2)} s`,
        `${(median(samples.map((s) => s.totalMs)) / 1000).toFixed(2)} s`,
        l2 <= GOAL_MS ? 'yes' : 'NO',
      ])
    }
    console.log(`\nlevel change: level 2 = an APC rPDU mock outlet (SNMP v2c, loopback); median of ${RUNS}`)
    printTable(
      [46, 16, 16, 12, 14],
      ['', 'level 2 started', 'level-1 attempts', 'fence done', 'goal <= 2.2 s'],
      rows,
    )
  } finally {
    await engine?.close()
    await lab.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}
