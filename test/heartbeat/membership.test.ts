import { describe, expect, it } from 'vitest'
import { Membership, type MembershipEvent } from '../../src/heartbeat/membership.js'
import { status } from './clock.js'

function setup(extra: Partial<ConstructorParameters<typeof Membership>[0]> = {}) {
  const m = new Membership({
    self: 'n1',
    nodes: ['n1', 'n2', 'n3'],
    links: ['mcast:a', 'serial'],
    keepaliveMs: 200,
    warntimeMs: 500,
    deadtimeMs: 1000,
    initdeadMs: 5000,
    startedAt: 0,
    ...extra,
  })
  const events: MembershipEvent[] = []
  m.onEvent((e) => events.push(e))
  return {
    m,
    events,
    kinds: () => events.map((e) => `${e.kind}:${e.node}${'link' in e ? `:${e.link}` : ''}`),
  }
}

describe('membership', () => {
  it('a node is up on its first status and dead after its deadtime of silence, never earlier', () => {
    const { m, events } = setup()
    expect(m.receive('mcast:a', status('n2', 1), 10)).toEqual({ accepted: true, fresh: true })
    expect(m.peer('n2')!.state).toBe('up')
    expect(events[0]).toMatchObject({ kind: 'link-up', node: 'n2', link: 'mcast:a' })
    expect(events[1]).toMatchObject({ kind: 'node-up', node: 'n2', reason: 'first', generation: 7 })
    expect(m.nextDeadline()).toBe(1010)
    m.check(1010)
    expect(m.peer('n2')!.state).toBe('up')
    m.check(1011)
    expect(m.peer('n2')!.state).toBe('dead')
    expect(events.find((e) => e.kind === 'node-dead')).toMatchObject({
      node: 'n2',
      reason: 'timeout',
      silentMs: 1001,
    })
  })

  it('every copy counts for its own link: a slow serial copy keeps its link up', () => {
    const { m, kinds } = setup()
    let t = 0
    for (let seq = 1; seq <= 30; seq++) {
      t += 200
      m.receive('mcast:a', status('n2', seq), t)
      // the serial copy of the previous packet arrives after the LAN copy of this one
      if (seq > 1)
        expect(m.receive('serial', status('n2', seq - 1), t + 5)).toEqual({ accepted: true, fresh: false })
      m.check(t + 5)
    }
    expect(m.peer('n2')!.links.map((l) => [l.name, l.state])).toEqual([
      ['mcast:a', 'up'],
      ['serial', 'up'],
    ])
    expect(kinds().filter((k) => k.startsWith('link-dead:n2'))).toEqual([])
  })

  it('a link failure alone is an event, never a node death', () => {
    const { m, events } = setup()
    let t = 0
    for (let seq = 1; seq <= 20; seq++) {
      t += 200
      m.receive('mcast:a', status('n2', seq), t)
      if (seq < 5) m.receive('serial', status('n2', seq), t + 1)
      m.check(t + 2)
    }
    expect(
      events
        .filter((e) => e.kind === 'link-dead' && e.node === 'n2')
        .map((e) => (e as { link: string }).link),
    ).toEqual(['serial'])
    expect(m.peer('n2')!.state).toBe('up')
  })

  it('replays: same sequence on the same link, lower generation, too old — dropped, never a sign of life', () => {
    const { m } = setup()
    for (let seq = 1; seq <= 300; seq++) m.receive('mcast:a', status('n2', seq), seq)
    expect(m.receive('mcast:a', status('n2', 300), 301)).toEqual({
      accepted: false,
      reason: 'replay-sequence',
    })
    expect(m.receive('mcast:a', status('n2', 301, 6), 302)).toEqual({
      accepted: false,
      reason: 'replay-generation',
    })
    expect(m.receive('serial', status('n2', 10), 303)).toEqual({ accepted: false, reason: 'old-sequence' })
    m.check(2000)
    expect(m.peer('n2')!.state).toBe('dead')
    // a recorded packet played back after the death brings nothing back
    for (let seq = 290; seq <= 300; seq++) m.receive('mcast:a', status('n2', seq), 2100)
    for (let seq = 290; seq <= 300; seq++) m.receive('serial', status('n2', seq), 2100)
    expect(m.peer('n2')!.state).toBe('dead')
  })

  it('generations: higher = restart, same after death = return after partition', () => {
    const { m, events } = setup()
    m.receive('mcast:a', status('n2', 1), 0)
    m.check(1500)
    m.receive('mcast:a', status('n2', 2), 1600)
    expect(events.at(-1)).toMatchObject({ kind: 'node-up', reason: 'return-after-partition', generation: 7 })
    m.check(3000)
    m.receive('mcast:a', status('n2', 1, 8), 3100)
    expect(events.at(-1)).toMatchObject({
      kind: 'node-up',
      reason: 'restart',
      generation: 8,
      previousGeneration: 7,
    })
    // a restart faster than the deadtime is reported too
    m.receive('mcast:a', status('n2', 1, 9), 3200)
    expect(events.at(-1)).toMatchObject({ kind: 'node-up', reason: 'restart', generation: 9 })
    // a non-status message of a new generation waits for its status
    expect(m.receive('mcast:a', { type: 'resource', src: 'n2', generation: 10, seq: 1 }, 3300)).toEqual({
      accepted: false,
      reason: 'future-generation',
    })
  })

  it('a clean shutdown is a death without silence, and its own generation cannot revive it', () => {
    const { m, events } = setup()
    m.receive('mcast:a', status('n2', 1), 0)
    m.receive('mcast:a', { type: 'shutdone', src: 'n2', generation: 7, seq: 2, st: 'dead' }, 10)
    expect(events.at(-1)).toMatchObject({ kind: 'node-dead', reason: 'shutdown' })
    // heartbeat keeps sending status while it winds down
    expect(m.receive('mcast:a', status('n2', 3), 20)).toEqual({ accepted: false, reason: 'after-shutdown' })
    expect(m.peer('n2')!.state).toBe('dead')
    m.receive('mcast:a', status('n2', 1, 8), 5000)
    expect(m.peer('n2')!.state).toBe('up')
  })

  it("honours the peer's advertised deadtime (dt)", () => {
    const { m } = setup()
    m.receive('mcast:a', status('n2', 1, 7, { dtMs: 3000 }), 0)
    m.check(2500)
    expect(m.peer('n2')!.state).toBe('up')
    m.check(3001)
    expect(m.peer('n2')!.state).toBe('dead')
  })

  it('late heartbeats are counted with their interval', () => {
    const { m, events } = setup()
    m.receive('mcast:a', status('n2', 1), 0)
    m.receive('mcast:a', status('n2', 2), 200)
    m.receive('mcast:a', status('n2', 3), 900)
    expect(events.filter((e) => e.kind === 'late-heartbeat')).toEqual([
      { kind: 'late-heartbeat', node: 'n2', intervalMs: 700 },
    ])
    expect(m.peer('n2')).toMatchObject({ lateHeartbeats: 1, maxIntervalMs: 700 })
  })

  it('a member never heard is declared dead after initdeadtime; own and unknown packets are dropped', () => {
    const { m, events } = setup()
    expect(m.receive('mcast:a', status('n1', 1), 1)).toEqual({ accepted: false, reason: 'own' })
    expect(m.receive('mcast:a', status('stranger', 1), 1)).toEqual({
      accepted: false,
      reason: 'unknown-node',
    })
    m.check(4999)
    expect(events.filter((e) => e.kind === 'node-dead')).toEqual([])
    m.check(5001)
    expect(
      events.filter((e) => e.kind === 'node-dead').map((e) => [e.node, (e as { reason: string }).reason]),
    ).toEqual([
      ['n2', 'never-seen'],
      ['n3', 'never-seen'],
    ])
  })

  it('generations remembered across our restart stop replays of older ones', () => {
    const { m } = setup({ knownGenerations: { n2: 9 } })
    expect(m.receive('mcast:a', status('n2', 50, 8), 1)).toEqual({
      accepted: false,
      reason: 'replay-generation',
    })
    expect(m.peer('n2')!.state).toBe('init')
    expect(m.receive('mcast:a', status('n2', 1, 9), 2).accepted).toBe(true)
  })
})
