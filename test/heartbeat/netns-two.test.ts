import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { HeartbeatEvent } from '../../src/heartbeat/protocol.js'
import { ensureBuilt } from './build.js'
import { type MemberProc, NetLab, fenceLog, memberConfig, sleep, startMember } from './netns.js'

/**
 * A two-node cluster in network namespaces (mcast, ucast, serial pty), fencing on with the fake
 * power switch: n1 is the preferred node. raceDelay 5 s > deadtime 1 s + keepalive 0.2 s +
 * fence timeout 2 s + 1 s margin.
 */
const lab = new NetLab('w', 2, 111)
const FENCE = { enabled: true, preferred: 'n1', raceDelayMs: 5000, timeoutMs: 2000, startupFencing: true }
const members: MemberProc[] = []

const start = (i: number) => {
  const m = startMember(lab, i, memberConfig(lab, i, { fence: FENCE, initdeadMs: 3000 }))
  members[i - 1] = m
  return m
}
const peerUp = (m: MemberProc, peer: string, after = 0) =>
  m.until(`${peer} up`, () =>
    m
      .events()
      .slice(after)
      .find((e) => e.kind === 'node-up' && e.node === peer),
  )
const cutAll = () => {
  lab.cable(1, 'm', false)
  lab.cable(1, 'u', false)
  lab.cutSerial(1, 2)
}
const healAll = async () => {
  lab.cable(1, 'm', true)
  lab.cable(1, 'u', true)
  await lab.serial(1, 2)
}
const fences = (m: MemberProc) => m.events().filter((e: HeartbeatEvent) => e.kind === 'fence-start')

describe('two-node cluster in network namespaces', () => {
  beforeAll(async () => {
    ensureBuilt()
    lab.up()
    await lab.serial(1, 2)
    start(1)
    start(2)
    await peerUp(members[0]!, 'n2')
    await peerUp(members[1]!, 'n1')
  }, 60_000)

  afterAll(async () => {
    await Promise.all(members.map((m) => m.stop()))
    lab.down()
  })

  it('split: exactly one fence, by the preferred node; the other was still waiting its race delay', async () => {
    const [n1, n2] = members
    cutAll()
    await n2!.untilEvent(
      'n2 waits its race delay',
      (e) => e.kind === 'fence-waiting' && e.why.startsWith('two-node: not preferred'),
    )
    await n2!.until('n2 powered off', () => n2!.exited)
    await sleep(1000)
    expect(fenceLog(lab)).toMatchObject([{ fencer: 'n1', victim: 'n2' }])
    expect(fences(n1!)).toHaveLength(1)
    expect(fences(n2!)).toHaveLength(0)
  })

  it('n2 reboots with the links still cut: wait-for-all, it never shoots n1', async () => {
    const n2 = start(2)
    await n2.until('ready', () => n2.lines.find((l) => l.type === 'ready'))
    // initdeadtime (3 s) passes: n1 is declared dead (never seen), startup fencing is on, yet
    // a two-node member does not fence a peer it has not seen since it started
    await n2.untilEvent('wait-for-all', (e) => e.kind === 'fence-waiting' && e.why.includes('wait-for-all'))
    await sleep(6000)
    expect(fences(n2)).toHaveLength(0)
    expect(fenceLog(lab)).toHaveLength(1)
    // the cable comes back: the two see each other again, n1 sees the restart
    const n1 = members[0]!
    const before = n1.events().length
    await healAll()
    await n1.until('n2 restart seen', () =>
      n1
        .events()
        .slice(before)
        .find((e) => e.kind === 'node-up' && e.node === 'n2' && e.reason === 'restart'),
    )
    await peerUp(n2, 'n1')
  })

  it('the preferred node really dies: the other fences it once, after its race delay', async () => {
    const [n1, n2] = members
    const t0 = Date.now()
    n1!.kill()
    await n2!.untilEvent('n1 dead', (e) => e.kind === 'node-dead' && e.node === 'n1')
    await n2!.untilEvent('n2 fences n1', (e) => e.kind === 'fence-start' && e.node === 'n1', 15_000)
    const waited = Date.now() - t0
    expect(waited).toBeGreaterThanOrEqual(5000)
    await n2!.untilEvent('fence done', (e) => e.kind === 'fence-done' && e.node === 'n1' && e.ok)
    expect(fenceLog(lab).slice(1)).toMatchObject([{ fencer: 'n2', victim: 'n1' }])
  })
})
