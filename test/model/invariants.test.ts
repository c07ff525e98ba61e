/**
 * The checker checked: hand-made traces that break one invariant each must be reported, and a
 * clean one must not. (The property can only find what these functions can see.)
 */
import { describe, expect, it } from 'vitest'
import type { Initiator } from '../../core/types.js'
import type { Operation } from '../../src/engine/types.js'
import { checkTrace } from './invariants.js'
import type { CallRecord, EngineLife, HookRecord, Trace } from './run-scenario.js'
import { LAYOUTS, type Scenario } from './scenario.js'
import { type DriverCall, Plant } from './sim-device.js'

const FENCER: Initiator = { name: 'f', role: 'fencer', via: 'model' }
const OPERATOR: Initiator = { name: 'o', role: 'operator', via: 'model' }

function trace(opts: {
  calls?: Partial<DriverCall>[]
  records?: Omit<HookRecord, 'engine'>[]
  requests?: Partial<CallRecord>[]
  overlaps?: Plant['overlaps']
}): Trace {
  const scenario = { settings: { fenceHoldMs: 100 } } as Scenario
  const plant = new Plant({}, {}, 0)
  let id = 1
  for (const c of opts.calls ?? [])
    plant.calls.push({
      id: id++,
      engine: 1,
      device: 'pdu',
      kind: 'status',
      plugs: [],
      fault: 'none',
      start: 0,
      ...c,
    })
  plant.overlaps.push(...(opts.overlaps ?? []))
  const life: EngineLife = {
    no: 1,
    start: 0,
    crashed: false,
    journalPath: '/nonexistent',
    records: (opts.records ?? []).map((r) => ({ ...r, engine: 1 })),
    intentSynced: new Map(),
    drivers: [],
  }
  for (const r of life.records) if (r.rec.t === 'intent') life.intentSynced.set(r.rec.op, r.at)
  const calls = (opts.requests ?? []).map(
    (r) =>
      ({
        caller: 0,
        role: 'fencer',
        engine: 1,
        start: 0,
        end: 100,
        timeoutMs: 1000,
        nodes: [],
        ...r,
      }) as CallRecord,
  )
  return { scenario, layout: LAYOUTS[0]!, plant, lives: [life], calls, problems: [], dir: '/nonexistent' }
}

function fenceOp(id: string, state: 'off' | 'on' | 'unknown'): Operation {
  return {
    id,
    kind: 'fence',
    action: 'off',
    nodes: ['n1'],
    initiator: FENCER,
    startedAt: '',
    status: 'succeeded',
    simulated: true,
    results: [
      { node: 'n1', action: 'off', outcome: 'success', state, level: 1, attempts: [], durationMs: 1 },
    ],
  }
}

const intent = (op: string, at: number, initiator: Initiator = FENCER): Omit<HookRecord, 'engine'> => ({
  at,
  rec: { t: 'intent', op, ts: '', kind: 'fence', action: 'off', nodes: ['n1'], initiator },
})

describe('the invariants', () => {
  it('accept a fence verified by a read after its set', () => {
    const t = trace({
      records: [intent('f1', 1)],
      calls: [
        { kind: 'set', action: 'off', plugs: ['1'], start: 2, reached: 3, end: 4 },
        { kind: 'status', plugs: ['1'], start: 5, end: 6, result: { '1': 'off' } },
      ],
      requests: [
        { op: { t: 'fence', node: 0, waitMs: 0, timeoutMs: 1000 }, operation: fenceOp('f1', 'off') },
      ],
    })
    expect(checkTrace(t)).toEqual([])
  })

  it('report a fence whose only off read was issued while a set was still in flight', () => {
    const t = trace({
      records: [intent('f1', 1)],
      calls: [
        { kind: 'set', action: 'on', plugs: ['1'], start: 2, reached: 8, end: 9 },
        { kind: 'status', plugs: ['1'], start: 5, end: 6, result: { '1': 'off' } },
      ],
      requests: [
        { op: { t: 'fence', node: 0, waitMs: 0, timeoutMs: 1000 }, operation: fenceOp('f1', 'off') },
      ],
    })
    expect(checkTrace(t).map((v) => v.invariant)).toContain('fence-verified-off')
  })

  it("report an operator's on that reaches the node after its fence verified off", () => {
    const t = trace({
      records: [
        intent('o1', 0, OPERATOR),
        intent('f1', 1),
        {
          at: 7,
          rec: {
            t: 'step',
            op: 'o1',
            ts: '',
            node: 'n1',
            level: 1,
            device: 'pdu',
            plug: '1',
            step: 'on',
            outcome: 'issued',
          },
        },
        { at: 7.5, rec: { t: 'result', op: 'f1', ts: '', node: 'n1', outcome: 'success' } },
      ],
      calls: [
        { kind: 'status', plugs: ['1'], start: 5, end: 6, result: { '1': 'off' } },
        { kind: 'set', action: 'on', plugs: ['1'], start: 8, reached: 9, end: 10 },
      ],
      requests: [
        {
          op: { t: 'fence', node: 0, waitMs: 0, timeoutMs: 1000 },
          operation: fenceOp('f1', 'off'),
          end: 7.6,
        },
      ],
    })
    expect(checkTrace(t).map((v) => v.invariant)).toContain('fence-hold')
  })

  it('report a state nobody read, an off node with an unknown plug, a late answer and an overlap', () => {
    const t = trace({
      requests: [
        {
          op: { t: 'status', nodes: [1], waitMs: 0, timeoutMs: 50 },
          role: 'viewer',
          end: 5_000,
          statuses: [
            {
              node: 'n2',
              state: 'off',
              plugs: [
                { device: 'pdu', plug: '2', level: 1, state: 'off' },
                { device: 'pdu', plug: '3', level: 1, state: 'unknown' },
              ],
            },
          ],
        },
      ],
      overlaps: [{ device: 'pdu', calls: [], at: 1 }],
    })
    const found = new Set(checkTrace(t).map((v) => v.invariant))
    expect([...found].sort()).toEqual(['deadline', 'one-call-per-device', 'read-back', 'unknown-never-off'])
  })
})
