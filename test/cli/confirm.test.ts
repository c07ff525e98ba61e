import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { main } from '../../src/cli/run.js'
import { type LabGateway, capture, labWithConfig, run } from './helpers.js'

/**
 * `fencegate confirm NODE --reason TEXT` (meatware, cluster-glue meatclient's semantics): the
 * operator has to type the node name (meatclient makes them type "yes") unless --yes; a wrong
 * answer confirms nothing; there must be a fence to complete.
 */
let g: LabGateway
beforeAll(async () => {
  g = await labWithConfig({
    devices: { dead: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 1 } },
    nodes: { gone: { plugs: ['dead:1'] } },
    // nothing listens on port 1: the device is unreachable, every fence of `gone` fails
    driverOverrides: { dead: { port: 1, connectTimeout: '200ms' } },
  })
})
afterAll(() => g.stop())

const cfg = () => ['--config', g.configFile]

async function confirm(args: string[], typed: string | undefined) {
  const c = capture()
  const asked: string[] = []
  c.io.readLine = async (prompt) => {
    asked.push(prompt)
    return typed
  }
  const code = await main(['confirm', ...args, ...cfg()], c.io)
  return { code, out: c.out(), err: c.err(), asked }
}

describe('fencegate confirm', () => {
  it('nothing to confirm before a fence failed; a reason is required', async () => {
    const none = await confirm(['gone', '--reason', 'checked', '--yes'], undefined)
    expect(none.code).toBe(1)
    expect(none.err).toContain('NOTHING_TO_CONFIRM')
    const noReason = await confirm(['gone', '--yes'], undefined)
    expect(noReason.code).toBe(2)
    expect(noReason.err).toContain('--reason')
  })

  it('after a failed fence: the typed node name confirms it; anything else does not', async () => {
    const fence = await run(['fence', 'gone', '--timeout', '2s', ...cfg()])
    expect(fence.code).toBe(1)
    const wrong = await confirm(['gone', '--reason', 'both cords pulled'], 'yes')
    expect(wrong.code).toBe(1)
    expect(wrong.err).toContain('not confirmed')
    expect(wrong.asked[0]).toContain('Type the node name (gone)')
    const ok = await confirm(['gone', '--reason', 'both cords pulled'], 'gone')
    expect(ok.err).toContain('data will be corrupted')
    expect(ok.code).toBe(0)
    expect(ok.out).toContain('confirmed-by-operator')
    expect(ok.out).toContain('not read back: both cords pulled')
    const history = await run(['history', '--node', 'gone', ...cfg()])
    expect(history.out).toMatch(/gone\s+confirm\s+off\s+confirmed-by-operator/)
  })
})
