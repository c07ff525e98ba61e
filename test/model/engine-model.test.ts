/**
 * The model-checked engine (issue 9): random interleavings of callers with roles, deadlines,
 * client disconnects, bulk operations, fence joins and holds, device faults and crash-restarts,
 * driven through the real Engine over simulated devices; every run is judged by the invariants
 * of invariants.ts. See docs/reliability.md.
 *
 * MODEL_SEED=<n> reproduces a run (MODEL_PATH=<path> from a failure report replays just that
 * case and shrinks it again); NUM_RUNS=<n> sets the number of cases (npm run check:deep raises
 * it); MODEL_PER_CASE=<n> how many scenarios run side by side in one case; MODEL_SHRINKS=<n>
 * bounds the shrinking (runs are timed, so a shrink step may not reproduce: keep it bounded);
 * MODEL_SHRINK=0 reports the first failure as found.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { judge } from './judge.js'
import { scenarioArb } from './scenario.js'

const SEED = Number(process.env.MODEL_SEED ?? 9_2026)
const NUM_RUNS = Number(process.env.NUM_RUNS ?? 120)
const PER_CASE = Number(process.env.MODEL_PER_CASE ?? 32)
const SHRINKS = Number(process.env.MODEL_SHRINKS ?? 60)
const PATH = process.env.MODEL_PATH

describe('model-checked engine', () => {
  it(
    `holds the fencing invariants over random interleavings, faults and crashes (seed ${SEED}, ${NUM_RUNS} cases x up to ${PER_CASE} scenarios)`,
    async () => {
      let scenarios = 0
      const started = Date.now()
      await fc.assert(
        fc.asyncProperty(
          fc.limitShrink(fc.array(scenarioArb, { minLength: 1, maxLength: PER_CASE, size: 'max' }), SHRINKS),
          async (batch) => {
            scenarios += batch.length
            const judged = await Promise.all(batch.map(judge))
            const bad = judged.filter((j) => j.violations.length)
            if (bad.length)
              throw new Error(
                `${bad.length} of ${batch.length} scenarios broke an invariant:\n${bad.map((b) => b.report).join('\n\n')}`,
              )
          },
        ),
        {
          seed: SEED,
          // a replayed path runs that one case (and its shrinks), not the cases after it
          numRuns: PATH ? 1 : NUM_RUNS,
          endOnFailure: process.env.MODEL_SHRINK === '0',
          ...(PATH ? { path: PATH } : {}),
        },
      )
      const secs = ((Date.now() - started) / 1000).toFixed(1)
      console.log(
        `model checker: ${scenarios} scenarios in ${PATH ? 1 : NUM_RUNS} cases, ${secs}s, seed ${SEED}`,
      )
      expect(scenarios).toBeGreaterThanOrEqual(PATH ? 1 : NUM_RUNS)
    },
    Number(process.env.MODEL_TIMEOUT_MS ?? 900_000),
  )
})
