/**
 * The model checker in replica mode (issue 14): the scenarios of engine-model.test.ts, their
 * callers dealt to two or three Engines that share one set of simulated devices through a real
 * three-member etcd, with replica events (a replica's etcd link cut, long enough or not to lose
 * its lease; a replica crashing mid-operation) and, per case, maybe an etcd member stopped and
 * started again. Judged by the single-mode invariants plus: never two replicas' sessions on one
 * device, a dead replica's fence run again by a survivor, every live replica usable after the
 * heal. See docs/reliability.md ("Replica mode").
 *
 * MODEL_SEED / MODEL_PATH / NUM_RUNS / MODEL_PER_CASE / MODEL_SHRINKS / MODEL_SHRINK as in
 * engine-model.test.ts (replica runs take seconds each: the defaults are small).
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EtcdCluster } from '../../firmware-mocks/etcd-cluster.js'
import { judgeReplicas } from './replica-judge.js'
import { replicaScenarioArb } from './replica-scenario.js'
import { now } from './run-scenario.js'

const SEED = Number(process.env.MODEL_SEED ?? 9_2026)
const NUM_RUNS = Number(process.env.NUM_RUNS ?? 12)
const PER_CASE = Number(process.env.MODEL_PER_CASE ?? 6)
const SHRINKS = Number(process.env.MODEL_SHRINKS ?? 10)
const PATH = process.env.MODEL_PATH

/** An etcd member stopped at `atMs` into the case and started `forMs` later (quorum stays). */
const outageArb = fc.option(
  fc.record({
    member: fc.integer({ min: 0, max: 2 }),
    atMs: fc.integer({ min: 0, max: 200 }),
    forMs: fc.integer({ min: 200, max: 1500 }),
  }),
  { freq: 3 },
)

/**
 * Cases that found a bug, replayed on every run (seed and path of this file's arbitraries; a
 * change to them makes a new list). Each names what it found.
 */
const REGRESSIONS: { seed: number; path: string; found: string }[] = [
  {
    seed: 9_2026,
    path: '2',
    found:
      'etcd lock keys were locks/<dev>/<lease>: an aborted acquire deleted, late, the key a later acquire of the same lease held; the final reads of pa waited on a lock etcd no longer had (fixed in 7627d11, regression in test/ha/coordinator.test.ts)',
  },
  {
    seed: 9_2026,
    path: '7:1:1:0',
    found:
      "a reboot with an 82 ms deadline answered after 1.6 s: the engine's etcd calls were bounded by their own 1 s, not by the caller's deadline (regression in src/engine/etcd-deadline.test.ts)",
  },
  {
    seed: 11,
    path: '0',
    found:
      'a cycle with a 482 ms deadline answered after 2.3 s on a replica cut from etcd: recordResult after a refused intent retried before the answer (src/engine/etcd-deadline.test.ts)',
  },
  {
    seed: 9_2026,
    path: '8',
    found:
      'under load, a replica kept the pdu lock for a call queued behind its round; the call was aborted before its own round, nothing released the lock, and the other replicas waited behind it while its lease lived (regression in src/engine/device-runner.test.ts)',
  },
]

describe('model-checked replicas (real etcd)', () => {
  let etcd: EtcdCluster
  beforeAll(async () => {
    etcd = await EtcdCluster.start()
  }, 30_000)
  afterAll(async () => {
    await etcd?.stop()
  }, 30_000)

  it(
    `hold the fencing invariants across replicas, cuts, crashes and etcd member restarts (seed ${SEED}, ${NUM_RUNS} cases x up to ${PER_CASE} scenarios)`,
    async () => {
      const { scenarios, totals, secs } = await check(etcd, SEED, PATH ? 1 : NUM_RUNS, PATH)
      console.log(
        `replica model checker: ${scenarios} scenarios in ${PATH ? 1 : NUM_RUNS} cases, ${secs}s, seed ${SEED}; ${JSON.stringify(totals)}`,
      )
      expect(scenarios).toBeGreaterThanOrEqual(PATH ? 1 : NUM_RUNS)
    },
    Number(process.env.MODEL_TIMEOUT_MS ?? 600_000),
  )

  it.each(REGRESSIONS)(
    'regression: seed $seed path $path',
    async ({ seed, path }) => {
      const { scenarios } = await check(etcd, seed, 1, path)
      expect(scenarios).toBeGreaterThanOrEqual(1)
    },
    120_000,
  )
})

async function check(
  etcd: EtcdCluster,
  seed: number,
  numRuns: number,
  path: string | undefined,
): Promise<{ scenarios: number; totals: Record<string, number>; secs: string }> {
  let scenarios = 0
  const totals: Record<string, number> = {}
  const started = Date.now()
  await fc.assert(
    fc.asyncProperty(
      fc.limitShrink(
        fc.tuple(fc.array(replicaScenarioArb, { minLength: 1, maxLength: PER_CASE, size: 'max' }), outageArb),
        SHRINKS,
      ),
      async ([batch, outage]) => {
        scenarios += batch.length
        const outages: { from: number; to: number }[] = []
        let back: Promise<void> = Promise.resolve()
        // the member goes down once every replica of the case has started: a stop that costs the
        // raft leader leaves etcd without one for an election timeout, and a replica starting
        // then fails, as it should (docs/reliability.md)
        let timer: NodeJS.Timeout | undefined
        let ready = 0
        const started = () => {
          if (++ready === batch.length && outage) timer = setTimeout(down, outage.atMs)
        }
        const down = !outage
          ? () => {}
          : () => {
              // a new leader may be elected meanwhile: 503s are fair until the replicas rejoin
              const w = { from: now(), to: Number.POSITIVE_INFINITY }
              outages.push(w)
              back = etcd.stopMember(outage.member).then(async () => {
                await new Promise((r) => setTimeout(r, outage.forMs))
                etcd.startMember(outage.member)
                await etcd.waitHealthy(20_000)
                w.to = now() + 15_000
              })
            }
        const judged = await Promise.all(batch.map((s) => judgeReplicas(s, etcd, outages, started)))
        clearTimeout(timer)
        for (const j of judged) for (const [k, n] of Object.entries(j.stats)) totals[k] = (totals[k] ?? 0) + n
        if (outage) totals.etcdMemberRestarts = (totals.etcdMemberRestarts ?? 0) + 1
        await back
        const bad = judged.filter((j) => j.violations.length)
        if (bad.length)
          throw new Error(
            `${bad.length} of ${batch.length} replica scenarios broke an invariant${outage ? ` (etcd member ${outage.member} down @${outage.atMs}ms for ${outage.forMs}ms)` : ''}:\n${bad.map((b) => b.report).join('\n\n')}`,
          )
      },
    ),
    {
      seed,
      numRuns,
      endOnFailure: process.env.MODEL_SHRINK === '0',
      ...(path ? { path } : {}),
    },
  )
  return { scenarios, totals, secs: ((Date.now() - started) / 1000).toFixed(1) }
}
