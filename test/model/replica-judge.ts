/** Run one replica scenario and judge it: every single-mode invariant, and the replicas' own. */
import { rmSync } from 'node:fs'
import type { EtcdCluster } from '../../firmware-mocks/etcd-cluster.js'
import { type Violation, checkJournals, checkTrace } from './invariants.js'
import { runReplicaScenario } from './replica-run.js'
import { type ReplicaScenario, describeReplicaScenario } from './replica-scenario.js'

const IGNORE = new Set((process.env.MODEL_IGNORE ?? '').split(',').filter(Boolean))

/**
 * `outages`: when an etcd member was down during the batch (filled while it runs; a leader
 * election may refuse requests with a 503 then, on every replica).
 */
export async function judgeReplicas(
  s: ReplicaScenario,
  etcd: EtcdCluster,
  outages: { from: number; to: number }[] = [],
  started: () => void = () => {},
): Promise<{ violations: Violation[]; report: string; stats: Record<string, number> }> {
  const t = await runReplicaScenario(s, etcd, started)
  try {
    t.unavailable.push(...outages.map((o) => ({ engine: 0, ...o })))
    const violations: Violation[] = [
      ...checkTrace(t),
      ...(await checkJournals(t)),
      ...t.sessionOverlaps.map((detail) => ({ invariant: 'one-session-per-device' as const, detail })),
      ...t.replicaProblems,
    ].filter((x) => !IGNORE.has(x.invariant))
    const report = violations.length
      ? `${describeReplicaScenario(s)}\n${violations.map((x) => `  [${x.invariant}] ${x.detail}`).join('\n')}\n${t.snapshot.map((l) => `  ${l}`).join('\n')}`
      : ''
    // what the run exercised (the test prints the totals: a model that never crashes a replica proves little)
    const stats = {
      crashes: t.crashedAt.size,
      cuts: s.events.filter((e) => e.t === 'cut').length,
      orphansChecked: t.orphansChecked,
      sessions: t.sessions.length,
      deviceCalls: t.plant.calls.length,
    }
    return { violations, report, stats }
  } finally {
    rmSync(t.dir, { recursive: true, force: true })
  }
}
