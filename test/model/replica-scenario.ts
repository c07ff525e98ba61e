/**
 * Replica-mode scenarios (issue 14): a single-mode scenario (scenario.ts) whose callers are
 * dealt to two or three engines sharing one set of simulated devices through a real etcd, plus
 * what can happen to a replica: its link to etcd cut for a while (long cuts lose its lease), or
 * the replica crashing mid-way (dropped without closing: its lease runs out, the others sweep
 * its orphans). The engine restart of single mode is left out: a crash here is a replica's.
 */
import fc from 'fast-check'
import { type Scenario, describeScenario, scenarioArb } from './scenario.js'

export type ReplicaEvent =
  /** The replica's connections to etcd stop relaying at `atMs` for `forMs` (a partition). */
  | { t: 'cut'; engine: number; atMs: number; forMs: number }
  /** The replica's process dies at `atMs`: no close, no lease revoke, its device calls end. */
  | { t: 'crash'; engine: number; atMs: number }

export interface ReplicaScenario {
  base: Scenario
  engines: number
  /** Per caller (and per op of it) the engine it asks; a crashed engine's callers go to the next live one. */
  deal: number[][]
  events: ReplicaEvent[]
}

const engineIdx = fc.integer({ min: 0, max: 2 })

const event: fc.Arbitrary<ReplicaEvent> = fc.oneof(
  fc.record({
    t: fc.constant('cut' as const),
    engine: engineIdx,
    atMs: fc.integer({ min: 0, max: 150 }),
    // short cuts ride it out; long ones outlast the lease (2 s ttl, given up at 1.5 s)
    forMs: fc.oneof(fc.integer({ min: 50, max: 400 }), fc.integer({ min: 1800, max: 2600 })),
  }),
  fc.record({ t: fc.constant('crash' as const), engine: engineIdx, atMs: fc.integer({ min: 0, max: 150 }) }),
)

export const replicaScenarioArb: fc.Arbitrary<ReplicaScenario> = fc
  .record({
    base: scenarioArb,
    engines: fc.constantFrom(2, 2, 3),
    deal: fc.array(fc.array(engineIdx, { minLength: 3, maxLength: 3 }), { minLength: 4, maxLength: 4 }),
    events: fc.array(event, { maxLength: 2 }),
  })
  .map(({ base, engines, deal, events }) => {
    const { restart: _, ...rest } = base
    // one replica always survives (a crash of every replica leaves nobody to answer)
    const crashes = new Set<number>()
    const evs = events
      .map((e) => ({ ...e, engine: e.engine % engines }))
      .filter((e) => {
        if (e.t !== 'crash') return true
        if (crashes.size >= engines - 1 || crashes.has(e.engine)) return false
        crashes.add(e.engine)
        return true
      })
    return { base: rest, engines, deal: deal.map((d) => d.map((x) => x % engines)), events: evs }
  })

export function describeReplicaScenario(s: ReplicaScenario): string {
  const ev = s.events.map((e) =>
    e.t === 'cut'
      ? `etcd cut of engine ${e.engine + 1} @${e.atMs}ms for ${e.forMs}ms`
      : `crash of engine ${e.engine + 1} @${e.atMs}ms`,
  )
  return [
    `${s.engines} replicas; ${ev.length ? ev.join(', ') : 'no replica events'}`,
    `  deal: ${s.deal.map((d, i) => `caller ${i} -> ${d.map((x) => x + 1).join(',')}`).join('; ')}`,
    describeScenario(s.base),
  ].join('\n')
}
