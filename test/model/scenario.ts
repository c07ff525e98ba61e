/**
 * Scenarios for the model checker, and their fast-check arbitraries: a device layout, the
 * engine settings, per-device call scripts (latencies and faults), several callers with roles
 * and a sequence of operations each, and maybe a restart (clean or a crash) of the engine.
 */
import fc from 'fast-check'
import type { FenceAction, NodeAction, PlugRef, Role } from '../../core/types.js'
import { type CallScript, FAULTS, type Fault } from './sim-device.js'

export interface Layout {
  devices: { id: string; plugs: string[]; cancel: boolean; deviceCycle: boolean }[]
  /** `manual`: a last level where a fence waits for a person's confirmation (meatware). */
  nodes: { name: string; levels: PlugRef[][]; manual?: boolean }[]
}

const ref = (s: string): PlugRef => {
  const [device, plug] = s.split(':') as [string, string]
  return { device, plug }
}

/** Small topologies covering one plug, dual supplies on one or two devices, and levels. */
export const LAYOUTS: readonly Layout[] = [
  {
    devices: [
      { id: 'pdu', plugs: ['1', '2', '3', '4'], cancel: true, deviceCycle: false },
      { id: 'bmc', plugs: ['chassis'], cancel: false, deviceCycle: false },
    ],
    nodes: [
      { name: 'n1', levels: [[ref('pdu:1')]] },
      { name: 'n2', levels: [[ref('pdu:2'), ref('pdu:3')]] },
      { name: 'n3', levels: [[ref('bmc:chassis')], [ref('pdu:4')]] },
    ],
  },
  {
    devices: [
      { id: 'pa', plugs: ['1', '2', '3'], cancel: false, deviceCycle: true },
      { id: 'pb', plugs: ['1', '2'], cancel: true, deviceCycle: false },
      { id: 'bmc', plugs: ['chassis'], cancel: false, deviceCycle: false },
    ],
    nodes: [
      { name: 'n1', levels: [[ref('pa:1'), ref('pb:1')]] },
      { name: 'n2', levels: [[ref('bmc:chassis')], [ref('pa:2'), ref('pb:2')]] },
      { name: 'n3', levels: [[ref('pa:3')]] },
    ],
  },
  {
    // meatware: manual last levels, where fences wait for `confirm`
    devices: [
      { id: 'pdu', plugs: ['1', '2', '3', '4'], cancel: true, deviceCycle: false },
      { id: 'bmc', plugs: ['chassis'], cancel: false, deviceCycle: false },
    ],
    nodes: [
      { name: 'n1', levels: [[ref('pdu:1')]], manual: true },
      { name: 'n2', levels: [[ref('bmc:chassis')], [ref('pdu:2')]], manual: true },
      { name: 'n3', levels: [[ref('pdu:3'), ref('pdu:4')]] },
    ],
  },
]

interface Common {
  /** Wait before issuing (ms). */
  waitMs: number
  timeoutMs: number
  /** The client goes away after this long (AbortSignal). */
  abortAfterMs?: number
}

export type Op = Common &
  (
    | { t: 'status'; nodes: number[] }
    | { t: 'power'; node: number; action: NodeAction }
    | { t: 'fence'; node: number; action?: FenceAction }
    | { t: 'bulk'; nodes: number[]; action: NodeAction }
    | { t: 'probe'; device: number }
    | { t: 'confirm'; node: number }
  )

export interface Caller {
  role: Role
  ops: Op[]
}

export interface Settings {
  verifyPollMs: number
  fenceHoldMs: number
  onStaggerMs: number
  retries: number
  powerWaitMs: number
  transitionMs: number
  /** Rotate the journal past this many bytes (small: rotation happens during the run). */
  journalMaxBytes: number
}

export interface Scenario {
  layout: number
  settings: Settings
  /** Initial power of every plug, in layout order. */
  initial: boolean[]
  /** Per device (layout order), the scripts its calls follow, cycled. */
  scripts: CallScript[][]
  /** Faults clear after this long; then the devices answer cleanly. */
  healAtMs: number
  callers: Caller[]
  restart?: { atMs: number; crash: boolean }
  /** Where to cut the final journal for the crash-at-any-point recovery check (0..1). */
  cut: number
}

const nodeIdx = fc.integer({ min: 0, max: 2 })
const nodeSet = fc.uniqueArray(nodeIdx, { minLength: 1, maxLength: 3 })
const nodeAction = fc.constantFrom<NodeAction>('on', 'off', 'cycle', 'reboot')

const common: fc.Arbitrary<Common> = fc.record(
  {
    waitMs: fc.integer({ min: 0, max: 20 }),
    timeoutMs: fc.oneof(
      { weight: 8, arbitrary: fc.integer({ min: 15, max: 150 }) },
      { weight: 1, arbitrary: fc.integer({ min: 400, max: 800 }) },
    ),
    abortAfterMs: fc.integer({ min: 0, max: 100 }),
  },
  { requiredKeys: ['waitMs', 'timeoutMs'] },
)

function opFor(role: Role): fc.Arbitrary<Op> {
  const status = fc.record({ t: fc.constant('status' as const), nodes: nodeSet })
  const probe = fc.record({ t: fc.constant('probe' as const), device: fc.integer({ min: 0, max: 2 }) })
  const power = fc.record({ t: fc.constant('power' as const), node: nodeIdx, action: nodeAction })
  const bulk = fc.record({ t: fc.constant('bulk' as const), nodes: nodeSet, action: nodeAction })
  const fence = fc.record(
    {
      t: fc.constant('fence' as const),
      node: nodeIdx,
      action: fc.constantFrom<FenceAction>('off', 'reboot'),
    },
    { requiredKeys: ['t', 'node'] },
  )
  const confirm = fc.record({ t: fc.constant('confirm' as const), node: nodeIdx })
  const kinds: fc.Arbitrary<object>[] =
    role === 'viewer'
      ? [status, probe]
      : role === 'operator'
        ? [status, power, power, bulk, probe]
        : [fence, fence, fence, power, status, confirm]
  return fc.tuple(fc.oneof(...kinds), common).map(([k, c]) => ({ ...c, ...k }) as Op)
}

const caller: fc.Arbitrary<Caller> = fc
  .constantFrom<Role>('viewer', 'operator', 'operator', 'fencer', 'fencer')
  .chain((role) =>
    fc.record({ role: fc.constant(role), ops: fc.array(opFor(role), { minLength: 1, maxLength: 3 }) }),
  )

const script: fc.Arbitrary<CallScript> = fc.record({
  latencyMs: fc.integer({ min: 0, max: 6 }),
  fault: fc.oneof(
    { weight: 8, arbitrary: fc.constant<Fault>('none') },
    { weight: 4, arbitrary: fc.constantFrom<Fault>(...FAULTS.filter((f) => f !== 'none')) },
  ),
  abortLagMs: fc.oneof(
    { weight: 3, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 15 }) },
  ),
})

export const scenarioArb: fc.Arbitrary<Scenario> = fc.record(
  {
    layout: fc.integer({ min: 0, max: LAYOUTS.length - 1 }),
    settings: fc.record({
      verifyPollMs: fc.integer({ min: 1, max: 5 }),
      fenceHoldMs: fc.integer({ min: 0, max: 200 }),
      onStaggerMs: fc.integer({ min: 0, max: 5 }),
      retries: fc.integer({ min: 0, max: 2 }),
      powerWaitMs: fc.integer({ min: 0, max: 10 }),
      transitionMs: fc.integer({ min: 0, max: 4 }),
      journalMaxBytes: fc.constantFrom(1_000_000, 1_500),
    }),
    initial: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
    scripts: fc.array(fc.array(script, { minLength: 1, maxLength: 12 }), { minLength: 3, maxLength: 3 }),
    healAtMs: fc.integer({ min: 0, max: 200 }),
    callers: fc.array(caller, { minLength: 1, maxLength: 4 }),
    restart: fc.record({ atMs: fc.integer({ min: 0, max: 150 }), crash: fc.boolean() }),
    cut: fc.double({ min: 0, max: 1, noNaN: true }),
  },
  { requiredKeys: ['layout', 'settings', 'initial', 'scripts', 'healAtMs', 'callers', 'cut'] },
)

/** One line per caller and op, for failure reports. */
export function describeScenario(s: Scenario): string {
  const lay = LAYOUTS[s.layout]!
  const node = (i: number) => lay.nodes[i % lay.nodes.length]!.name
  const lines = [
    `layout ${s.layout} settings ${JSON.stringify(s.settings)} heal@${s.healAtMs}ms` +
      (s.restart ? ` ${s.restart.crash ? 'crash' : 'clean restart'}@${s.restart.atMs}ms` : ''),
  ]
  for (const [i, d] of lay.devices.entries())
    lines.push(
      `  ${d.id}: ${(s.scripts[i] ?? []).map((c) => `${c.fault}/${c.latencyMs}${c.abortLagMs ? `~${c.abortLagMs}` : ''}`).join(' ')}`,
    )
  s.callers.forEach((c, i) => {
    const ops = c.ops.map((o) => {
      const what =
        o.t === 'status'
          ? `status(${o.nodes.map(node)})`
          : o.t === 'probe'
            ? `probe(${lay.devices[o.device % lay.devices.length]!.id})`
            : o.t === 'bulk'
              ? `bulk ${o.action}(${o.nodes.map(node)})`
              : o.t === 'fence'
                ? `fence ${o.action ?? 'default'}(${node(o.node)})`
                : o.t === 'confirm'
                  ? `confirm(${node(o.node)})`
                  : `${o.action}(${node(o.node)})`
      return `+${o.waitMs} ${what} t/o ${o.timeoutMs}${o.abortAfterMs !== undefined ? ` abort@${o.abortAfterMs}` : ''}`
    })
    lines.push(`  caller ${i} ${c.role}: ${ops.join('; ')}`)
  })
  return lines.join('\n')
}
