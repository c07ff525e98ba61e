import { mkdtempSync, rmSync } from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Journal } from '../../src/audit/journal.js'
import { EmbeddedCoordinator, unavailable } from '../../src/coordination/coordinator.js'
import { Engine } from '../../src/engine/engine.js'
import type { FenceError } from '../../core/errors.js'
import { MODEL_TMP, buildConfig, initialPower } from '../model/run-scenario.js'
import type { Scenario } from '../model/scenario.js'
import { Plant, SimDriver } from '../model/sim-device.js'

/** A replica whose etcd refuses every operation's intent (its link to etcd is cut). */
class RefusingCoordinator extends EmbeddedCoordinator {
  override recordIntent(): Promise<void> {
    return Promise.reject(unavailable('the etcd lease was not renewed in time'))
  }
}

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

describe('an intent etcd refused (found by the replica model checker)', () => {
  it('is paired with its results in the journal: the next start reports nothing interrupted', async () => {
    const s: Scenario = {
      layout: 0,
      settings: {
        verifyPollMs: 2,
        fenceHoldMs: 0,
        onStaggerMs: 0,
        retries: 0,
        powerWaitMs: 0,
        transitionMs: 0,
        journalMaxBytes: 1_000_000,
      },
      initial: [true, true, true, true, true, true, true, true],
      scripts: [],
      healAtMs: 0,
      callers: [],
      cut: 1,
    }
    const dir = mkdtempSync(path.join(MODEL_TMP, 'fencegate-intent-refused-'))
    dirs.push(dir)
    const plant = new Plant(initialPower(s), {}, 0)
    const config = buildConfig(s, path.join(dir, 'journal.jsonl'))
    const engine = await Engine.create(config, {
      coordinator: new RefusingCoordinator(),
      createDriver: (dev, plugs) => new SimDriver(plant, dev.id, 1, plugs, true),
    })
    const err = (await engine
      .power('n1', 'off', { initiator: { name: 'op', role: 'operator', via: 'model' }, timeoutMs: 1000 })
      .catch((e) => e)) as FenceError
    expect(err.code).toBe('COORDINATION_UNAVAILABLE')
    expect(plant.calls).toEqual([])
    await engine.close()
    plant.dispose()
    const again = await Journal.open(config.journal)
    try {
      expect(again.recovered).toEqual([])
      const hist = await again.history({ limit: 100 })
      expect(hist.map((h) => [h.node, h.outcome])).toEqual([['n1', 'failed']])
    } finally {
      await again.close()
    }
  })
})
