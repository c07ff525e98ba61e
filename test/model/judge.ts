/** Run one scenario and judge it by every invariant. */
import { rmSync } from 'node:fs'
import { type Violation, checkJournals, checkTrace } from './invariants.js'
import { runScenario } from './run-scenario.js'
import { type Scenario, describeScenario } from './scenario.js'

/** Invariants to leave out (MODEL_IGNORE, comma-separated), to hunt for a second bug while a first is open. */
const IGNORE = new Set((process.env.MODEL_IGNORE ?? '').split(',').filter(Boolean))

/** Run one scenario and judge it; the violations, with the scenario, as text. */
export async function judge(s: Scenario): Promise<{ violations: Violation[]; report: string }> {
  const trace = await runScenario(s)
  try {
    const violations = [...checkTrace(trace), ...(await checkJournals(trace))].filter(
      (x) => !IGNORE.has(x.invariant),
    )
    const report = violations.length
      ? `${describeScenario(s)}\n${violations.map((x) => `  [${x.invariant}] ${x.detail}`).join('\n')}`
      : ''
    return { violations, report }
  } finally {
    rmSync(trace.dir, { recursive: true, force: true })
  }
}
