import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ReplicaSet, call } from './replicas.js'

/**
 * A mixed lab behind three replicas: a BMC (RMCP+ sessions), a Redfish BMC (X-Auth-Token or
 * basic-auth requests), a WTI NPS (one telnet console) and an RPS-10 chain on a pseudo-terminal
 * (one serial line, one command exchange at a time). Every replica drives every device at once;
 * the coordinator's device locks must keep each device to one session at a time.
 */
const NODES: Record<string, { plugs: string[] }> = {
  n1: { plugs: ['bmc:chassis'] },
  n2: { plugs: ['rf:system'] },
  n3: { plugs: ['nps:1'] },
  n4: { plugs: ['nps:2'] },
  n5: { plugs: ['nps:3'] },
  n6: { plugs: ['rps:0'] },
  n7: { plugs: ['rps:1'] },
}
const DEVICES = ['bmc', 'rf', 'nps', 'rps']

describe('sessions on a mixed lab through three replicas (real processes)', () => {
  let set: ReplicaSet
  let ptyDir: string
  beforeAll(async () => {
    ptyDir = mkdtempSync(path.join(tmpdir(), 'fencegate-ha-pty-'))
    set = await ReplicaSet.start({
      devices: {
        bmc: { kind: 'bmc', listen: '127.0.0.1:0' },
        rf: { kind: 'redfish', listen: '127.0.0.1:0' },
        nps: { kind: 'wti-nps', listen: '127.0.0.1:0', plugs: 4 },
        rps: { kind: 'rps10', pty: path.join(ptyDir, 'rps10'), plugs: 2 },
      },
      nodes: NODES,
    })
  }, 180_000)
  afterAll(async () => {
    await set?.stop()
    if (ptyDir) rmSync(ptyDir, { recursive: true, force: true })
  }, 60_000)

  it('concurrent operations on every device through all three replicas: never two sessions on one device', async () => {
    const before = Object.fromEntries(await Promise.all(DEVICES.map(async (d) => [d, await set.sessions(d)])))
    const asks: Promise<{ status: number; body: Record<string, unknown> }>[] = []
    const names = Object.keys(NODES)
    for (let round = 0; round < 2; round++)
      for (const [i, r] of set.replicas.entries())
        for (const [k, node] of names.entries())
          asks.push(
            (round + i + k) % 3 === 2
              ? call(r.url, 'GET', `/v1/nodes/${node}`)
              : call(r.url, 'POST', `/v1/nodes/${node}/power`, { action: (round + i) % 2 ? 'on' : 'off' }),
          )
    const answers = await Promise.all(asks)
    const logs = () => set.replicas.map((r) => `--- ${r.name}\n${r.log()}`).join('\n')
    for (const a of answers) {
      expect(a.status, `${JSON.stringify(a.body)}\n${logs()}`).toBe(200)
      const op = a.body.operation as { status: string } | undefined
      if (op) expect(op.status, `${JSON.stringify(op)}\n${logs()}`).toBe('succeeded')
    }
    for (const d of DEVICES) {
      const after = await set.sessions(d)
      // every replica drove the device (sessions were opened and handed on)...
      expect(after.total - before[d].total, `${d}: ${JSON.stringify(after)}`).toBeGreaterThan(2)
      // ...never two at once, and none left open by a replica that let the lock go
      expect(after.overlaps, `${d}: ${JSON.stringify(after)}`).toBe(0)
      expect(after.maxOpen, `${d}: ${JSON.stringify(after)}`).toBe(1)
    }
  }, 300_000)
})
