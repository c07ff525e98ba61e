import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { HeartbeatEvent } from '../../src/heartbeat/protocol.js'
import { ensureBuilt } from './build.js'
import { type MemberProc, NetLab, fenceLog, memberConfig, sleep, startMember } from './netns.js'

/**
 * Three members in three network namespaces, heartbeating over multicast (net m), unicast to
 * each peer (net u) and a null-modem pty to each peer: real sockets, real ptys, real worker
 * threads. Fencing on, with the fake power switch (member-main.ts): a fenced member dies.
 */
const lab = new NetLab('t', 3, 101)
const members: MemberProc[] = []
const FENCE = { enabled: true, startupFencing: false }

const isDead = (node: string) => (e: HeartbeatEvent) => e.kind === 'node-dead' && e.node === node
const linkDead = (node: string, link: string) => (e: HeartbeatEvent) =>
  e.kind === 'link-dead' && e.node === node && e.link === link

async function allUp(ms: MemberProc[]): Promise<void> {
  for (const m of ms)
    await m.until('peers up', () => {
      const ups = new Set(
        m
          .events()
          .filter((e) => e.kind === 'node-up')
          .map((e) => e.node),
      )
      return ups.size === 2
    })
}

function start(i: number): MemberProc {
  const m = startMember(lab, i, memberConfig(lab, i, { fence: FENCE }))
  members[i - 1] = m
  return m
}

describe('three members over mcast, ucast and serial in network namespaces', () => {
  beforeAll(async () => {
    ensureBuilt()
    lab.up()
    await lab.serial(1, 2)
    await lab.serial(1, 3)
    await lab.serial(2, 3)
    for (let i = 1; i <= 3; i++) start(i)
    for (const m of members) await m.until('ready', () => m.lines.find((l) => l.type === 'ready'))
    await allUp(members)
  }, 60_000)

  afterAll(async () => {
    await Promise.all(members.map((m) => m.stop()))
    lab.down()
  })

  it('every member sees the others up on every link', async () => {
    const [n1] = members
    await n1!.until('all links of n2 and n3 up', () => {
      const ups = new Set(n1!.events().flatMap((e) => (e.kind === 'link-up' ? [`${e.node}/${e.link}`] : [])))
      return ['n2/mcast', 'n2/ucast-n2', 'n2/serial-n2', 'n3/mcast', 'n3/ucast-n3', 'n3/serial-n3'].every(
        (k) => ups.has(k),
      )
    })
    const snap = await n1!.snapshot()
    expect(snap.nodes.map((n) => [n.name, n.state])).toEqual([
      ['n1', 'up'],
      ['n2', 'up'],
      ['n3', 'up'],
    ])
    expect(snap.quorum).toMatchObject({ members: 3, live: 3, quorate: true })
    const n2 = snap.nodes.find((n) => n.name === 'n2')!
    expect(n2.software).toBe('fencegate')
    expect(n2.canFence).toEqual(['n1', 'n3'])
    expect(
      n2.links
        .filter((l) => l.state === 'up')
        .map((l) => l.name)
        .sort(),
    ).toEqual(['mcast', 'serial-n2', 'ucast-n2'])
    expect(snap.authMethod).toBe('sha1')
  })

  it('a pulled cable: that link dead, the node still up; plugged back: link up again', async () => {
    const [n1, n2] = members
    lab.cable(3, 'm', false)
    await n1!.untilEvent('n3 mcast dead', linkDead('n3', 'mcast'))
    await n2!.untilEvent('n3 mcast dead', linkDead('n3', 'mcast'))
    lab.cable(3, 'm', true)
    const before = n1!.events().length
    await n1!.until('n3 mcast up again', () =>
      n1!
        .events()
        .slice(before)
        .find((e) => e.kind === 'link-up' && e.node === 'n3' && e.link === 'mcast'),
    )
    expect(n1!.events().some(isDead('n3'))).toBe(false)
    expect(n2!.events().some(isDead('n3'))).toBe(false)
    expect((await n1!.snapshot()).nodes.find((n) => n.name === 'n3')!.state).toBe('up')
  })

  it('a closed pty: that serial link dead on both ends, nodes up; a new pty: it comes back', async () => {
    const [n1, , n3] = members
    lab.cutSerial(1, 3)
    await n1!.untilEvent('n3 serial dead', linkDead('n3', 'serial-n3'))
    await n3!.untilEvent('n1 serial dead', linkDead('n1', 'serial-n1'))
    const before = n1!.events().length
    await lab.serial(1, 3)
    await n1!.until('n3 serial up again', () =>
      n1!
        .events()
        .slice(before)
        .find((e) => e.kind === 'link-up' && e.node === 'n3' && e.link === 'serial-n3'),
    )
    expect(n1!.events().some(isDead('n3'))).toBe(false)
    expect(n3!.events().some(isDead('n1'))).toBe(false)
  })

  it('every link of n3 cut: n3 declared dead (never before deadtime), fenced exactly once, by n1', async () => {
    const [n1, n2, n3] = members
    lab.cable(3, 'm', false)
    lab.cable(3, 'u', false)
    lab.cutSerial(1, 3)
    lab.cutSerial(2, 3)
    const d1 = await n1!.untilEvent('n3 dead', isDead('n3'))
    const d2 = await n2!.untilEvent('n3 dead', isDead('n3'))
    for (const d of [d1, d2]) expect(d).toMatchObject({ reason: 'timeout' })
    for (const d of [d1, d2]) expect((d as { silentMs: number }).silentMs).toBeGreaterThanOrEqual(1000)
    await n3!.until('n3 powered off', () => n3!.exited)
    expect(n3!.lines.some((l) => l.type === 'powered-off')).toBe(true)
    await n2!.untilEvent('n2 sees n1 fenced n3', (e) => e.kind === 'fence-dropped' && e.node === 'n3')
    await sleep(1500)
    expect(fenceLog(lab)).toMatchObject([{ fencer: 'n1', victim: 'n3' }])
    expect(n2!.events().some((e) => e.kind === 'fence-start')).toBe(false)
    // n3 (alone, no quorum) fenced nobody before its power went
    expect(n3!.events().some((e) => e.kind === 'fence-start')).toBe(false)
  })

  it('partition of n1 (the first member): only the majority fences, by n2; n1 fences nobody', async () => {
    // n3 comes back (its power restored): a new generation, seen as a restart
    lab.cable(3, 'm', true)
    lab.cable(3, 'u', true)
    await lab.serial(1, 3)
    await lab.serial(2, 3)
    const n3 = start(3)
    const [n1, n2] = members
    await n1!.untilEvent(
      'n3 restarted',
      (e) => e.kind === 'node-up' && e.node === 'n3' && e.reason === 'restart',
    )
    await n3.until(
      'peers up',
      () =>
        new Set(
          n3
            .events()
            .filter((e) => e.kind === 'node-up')
            .map((e) => e.node),
        ).size === 2,
    )
    const fencesBefore = fenceLog(lab).length
    lab.cable(1, 'm', false)
    lab.cable(1, 'u', false)
    lab.cutSerial(1, 2)
    lab.cutSerial(1, 3)
    await n2!.untilEvent('n1 dead', isDead('n1'))
    await n3.untilEvent('n1 dead', isDead('n1'))
    await n1!.untilEvent('n2 dead', isDead('n2'))
    await n1!.untilEvent(
      'n1 without quorum',
      (e) => e.kind === 'fence-waiting' && e.why.startsWith('no quorum'),
    )
    await n1!.until('n1 powered off', () => n1!.exited)
    await sleep(1500)
    expect(fenceLog(lab).slice(fencesBefore)).toMatchObject([{ fencer: 'n2', victim: 'n1' }])
    expect(n3.events().some((e) => e.kind === 'fence-start')).toBe(false)
  })
})
