import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { HeartbeatEvent } from '../../src/heartbeat/protocol.js'
import { ensureBuilt } from './build.js'
import { type MemberProc, NetLab, fenceLog, memberConfig, sleep, startMember } from './netns.js'

/**
 * Ping nodes in network namespaces: two members and a "router" (the lab's switch namespace, which
 * holds the ping address on net m). Net m is each member's uplink (its veth to the ping host);
 * the heartbeat runs on net u only (unicast). Real ICMP echo through the system ping binary,
 * fencing on with the fake power switch (member-main.ts): a fenced member dies, the fencer's call
 * is recorded in fence.log.
 *
 * n2 is the *preferred* node, so that the uplink visibly beats the preference: without ping
 * nodes, n2 would fence n1 in every split. deadtime 3 s, deadping 3 s, a probe every second
 * (its answer awaited for up to a second: a loaded machine must not lose the ping node falsely);
 * raceDelay 9 s > 3 s + 0.2 s + fence timeout 2 s + 1 s + 1 s + 1 s.
 */
const lab = new NetLab('p', 2, 161)
const FENCE = { enabled: true, preferred: 'n2', raceDelayMs: 9000, timeoutMs: 2000, startupFencing: true }
const members: MemberProc[] = []
let router = ''

const start = (i: number) => {
  const m = startMember(
    lab,
    i,
    memberConfig(lab, i, {
      fence: FENCE,
      deadtimeMs: 3000,
      initdeadMs: 6000,
      mcast: false,
      serial: false,
      ping: {
        nodes: [{ name: router, addresses: [router], group: false }],
        method: 'icmp',
        port: 7,
        intervalMs: 1000,
        timeoutMs: 1000,
        deadMs: 3000,
      },
    }),
  )
  members[i - 1] = m
  return m
}
const fences = (m: MemberProc) => m.events().filter((e: HeartbeatEvent) => e.kind === 'fence-start')
const whys = (m: MemberProc) => m.events().flatMap((e) => (e.kind === 'fence-waiting' ? [e.why] : []))

/** Until `m` sees `peer` (or itself) up and reaching the ping node (or not), as `m`'s snapshot says. */
async function seesPeer(m: MemberProc, peer: string, reaches: boolean): Promise<void> {
  if (peer !== m.name)
    await m.until(`${peer} up`, () => m.events().some((e) => e.kind === 'node-up' && e.node === peer))
  const end = Date.now() + 20_000
  for (;;) {
    const snap = await m.snapshot()
    const n = snap.nodes.find((x) => x.name === peer)
    if (n?.state === 'up' && (n.pingNodes ?? []).includes(router) === reaches) return
    if (Date.now() > end)
      throw new Error(`${m.name}: ${peer} never advertised ping ${reaches}: ${JSON.stringify(n)}`)
    await sleep(200)
  }
}

/** Both members up, seeing each other, each reaching the ping node and seeing the other reach it. */
async function settled(): Promise<void> {
  // our own view (the ping-up event may come before the member says ready)
  for (const m of members) await seesPeer(m, m.name, true)
  await seesPeer(members[0]!, 'n2', true)
  await seesPeer(members[1]!, 'n1', true)
}

describe('ping nodes in network namespaces: which side of the split has the uplink', () => {
  beforeAll(async () => {
    ensureBuilt()
    lab.up()
    router = lab.addRouter()
    start(1)
    start(2)
    await settled()
  }, 60_000)

  afterAll(async () => {
    await Promise.all(members.map((m) => m.stop()))
    lab.down()
  })

  it('n2 loses its uplink: nobody is fenced for that alone; then its heartbeat too: n1 fences it, n2 fences nobody', async () => {
    const [n1, n2] = members
    const snap = await n1!.snapshot()
    expect(snap.ping).toMatchObject([{ name: router, addresses: [router], group: false, state: 'up' }])
    expect(snap.nodes.map((n) => [n.name, n.pingNodes])).toEqual([
      ['n1', [router]],
      ['n2', [router]],
    ])
    lab.cable(2, 'm', false)
    await n2!.untilEvent('n2 loses the ping node', (e) => e.kind === 'ping-dead' && e.ping === router)
    await seesPeer(n1!, 'n2', false)
    expect(fenceLog(lab)).toEqual([])

    lab.cable(2, 'u', false)
    await n2!.untilEvent(
      'n2 defers',
      (e) => e.kind === 'fence-waiting' && e.why.startsWith('two-node: n1 has the uplink'),
    )
    await n2!.until('n2 powered off', () => n2!.exited, 30_000)
    await sleep(1000)
    expect(fenceLog(lab)).toMatchObject([{ fencer: 'n1', victim: 'n2' }])
    expect(fences(n1!)).toHaveLength(1)
    expect(fences(n2!)).toHaveLength(0)
  }, 90_000)

  it('uplink and heartbeat of n2 cut at the same moment (n1 still holds its old advert): n1 fences it, once', async () => {
    lab.cable(2, 'm', true)
    lab.cable(2, 'u', true)
    const n1 = members[0]!
    const before = n1.events().length
    const n2 = start(2)
    await n1.until('n2 restart seen', () =>
      n1
        .events()
        .slice(before)
        .find((e) => e.kind === 'node-up' && e.node === 'n2' && e.reason === 'restart'),
    )
    await settled()
    const fencesBefore = fenceLog(lab).length
    lab.cable(2, 'm', false)
    lab.cable(2, 'u', false)
    await n2.untilEvent(
      'n2 defers',
      (e) => e.kind === 'fence-waiting' && e.why.startsWith('two-node: n1 has the uplink'),
    )
    await n2.until('n2 powered off', () => n2.exited, 30_000)
    await sleep(1000)
    expect(fenceLog(lab).slice(fencesBefore)).toMatchObject([{ fencer: 'n1', victim: 'n2' }])
    expect(fences(n2)).toHaveLength(0)
    // n1 took the two-node path: as the node that is not preferred it waited its race delay
    expect(whys(n1).some((w) => w.startsWith('two-node: not preferred'))).toBe(true)
  }, 90_000)

  it('the heartbeat link only, both reaching the ping node: the preferred node wins, exactly one fence', async () => {
    lab.cable(2, 'm', true)
    lab.cable(2, 'u', true)
    const n1 = members[0]!
    const before = n1.events().length
    const n2 = start(2)
    await n1.until('n2 restart seen', () =>
      n1
        .events()
        .slice(before)
        .find((e) => e.kind === 'node-up' && e.node === 'n2' && e.reason === 'restart'),
    )
    await settled()
    const fencesBefore = fenceLog(lab).length
    const n1Fences = fences(n1).length
    lab.cable(1, 'u', false)
    await n1.untilEvent(
      'n1 waits its race delay',
      (e) => e.kind === 'fence-waiting' && e.why.startsWith('two-node: not preferred'),
    )
    await n1.until('n1 powered off', () => n1.exited, 30_000)
    await sleep(1000)
    expect(fenceLog(lab).slice(fencesBefore)).toMatchObject([{ fencer: 'n2', victim: 'n1' }])
    expect(fences(n1)).toHaveLength(n1Fences)
    expect(fences(n2)).toHaveLength(1)
  }, 90_000)
})
