/**
 * The model-checked engine (issue 9): random interleavings of callers with roles, deadlines,
 * client disconnects, bulk operations, fence joins and holds, device faults and crash-restarts,
 * driven through the real Engine over simulated devices; every run is judged by the invariants
 * of invariants.ts. See docs/reliability.md.
 *
 * MODEL_SEED=<n> reproduces a run; NUM_RUNS=<n> sets the number of cases (npm run check:deep
 * raises it); MODEL_PER_CASE=<n> how many scenarios run side by side in one case.
 */
import { rmSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type Violation, checkJournals, checkTrace } from './invariants.js'
import { runScenario } from './run-scenario.js'
import { type Scenario, describeScenario, scenarioArb } from './scenario.js'

const SEED = Number(process.env.MODEL_SEED ?? 9_2026)
const NUM_RUNS = Number(process.env.NUM_RUNS ?? 150)
const PER_CASE = Number(process.env.MODEL_PER_CASE ?? 16)

/** Run one scenario and judge it; the violations, with the scenario, as text. */
export async function judge(s: Scenario): Promise<{ violations: Violation[]; report: string }> {
  const trace = await runScenario(s)
  try {
    const violations = [...checkTrace(trace), ...(await checkJournals(trace))]
    const report = violations.length
      ? `${describeScenario(s)}\n${violations.map((x) => `  [${x.invariant}] ${x.detail}`).join('\n')}`
      : ''
    return { violations, report }
  } finally {
    rmSync(trace.dir, { recursive: true, force: true })
  }
}

describe('model-checked engine', () => {
  it(
    `holds the fencing invariants over random interleavings, faults and crashes (seed ${SEED}, ${NUM_RUNS} cases x up to ${PER_CASE} scenarios)`,
    async () => {
      let scenarios = 0
      const started = Date.now()
      await fc.assert(
        fc.asyncProperty(
          fc.array(scenarioArb, { minLength: 1, maxLength: PER_CASE, size: 'max' }),
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
          numRuns: NUM_RUNS,
          endOnFailure: process.env.MODEL_SHRINK === '0',
        },
      )
      const secs = ((Date.now() - started) / 1000).toFixed(1)
      console.log(`model checker: ${scenarios} scenarios in ${NUM_RUNS} cases, ${secs}s, seed ${SEED}`)
      expect(scenarios).toBeGreaterThanOrEqual(NUM_RUNS)
    },
    Number(process.env.MODEL_TIMEOUT_MS ?? 900_000),
  )
})
