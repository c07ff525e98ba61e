/**
 * A crash at any byte of the journal (issue 9): the journal is fed a random history of
 * operations (intents, steps, results; synced or not; rotation on or off), then its newest file
 * is cut at a random byte, as a crash mid-write leaves it. Recovery must report exactly the open
 * intents as unknown, keep every intent, and keep what the next gateway writes after the cut.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Journal } from '../../src/audit/journal.js'
import { crashAt } from './invariants.js'
import { MODEL_TMP, journalFiles } from './run-scenario.js'

const SEED = Number(process.env.MODEL_SEED ?? 9_2026)
const NUM_RUNS = Number(process.env.NUM_RUNS ?? 150)

const opArb = fc.record({
  nodes: fc.uniqueArray(fc.constantFrom('n1', 'n2', 'n3'), { minLength: 1, maxLength: 3 }),
  /** How many of its nodes get a result before the crash. */
  results: fc.integer({ min: 0, max: 3 }),
  steps: fc.integer({ min: 0, max: 2 }),
})

describe('journal: crash at any byte', () => {
  it(`recovery keeps every intent and reports the open ones unknown (seed ${SEED})`, async () => {
    let runs = 0
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { minLength: 1, maxLength: 8 }),
        fc.constantFrom(1_000_000, 600),
        fc.double({ min: 0, max: 1, noNaN: true }),
        async (ops, maxBytes, cut) => {
          runs++
          const dir = mkdtempSync(path.join(MODEL_TMP, 'fencegate-jcrash-'))
          try {
            const file = path.join(dir, 'journal.jsonl')
            const j = await Journal.open({ path: file, maxBytes, keep: 50 })
            const ts = new Date().toISOString()
            const initiator = { name: 'model', role: 'fencer' as const, via: 'model' }
            for (const [i, o] of ops.entries()) {
              const op = `op${i}`
              await j.append(
                { t: 'intent', op, ts, kind: 'fence', action: 'off', nodes: o.nodes, initiator },
                true,
              )
              for (let s = 0; s < o.steps; s++)
                void j.append(
                  {
                    t: 'step',
                    op,
                    ts,
                    node: o.nodes[0]!,
                    level: 1,
                    device: 'pdu',
                    plug: '1',
                    step: 'off',
                    outcome: 'issued',
                  },
                  false,
                )
              for (const node of o.nodes.slice(0, o.results))
                await j.append({ t: 'result', op, ts, node, outcome: 'success', level: 1 }, true)
            }
            await j.close()
            const files = journalFiles(file)
            const newest = readFileSync(files.at(-1)!)
            const at = Math.floor(cut * newest.length)
            const violations = await crashAt(
              file,
              newest.subarray(0, at),
              `cut at byte ${at} of ${newest.length}`,
            )
            if (violations.length) throw new Error(violations.map((v) => v.detail).join('\n'))
          } finally {
            rmSync(dir, { recursive: true, force: true })
          }
        },
      ),
      { seed: SEED, numRuns: NUM_RUNS },
    )
    expect(runs).toBeGreaterThanOrEqual(NUM_RUNS)
  }, 300_000)
})
