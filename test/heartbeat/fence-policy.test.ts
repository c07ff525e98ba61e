import { describe, expect, it } from 'vitest'
import type { FenceSettings } from '../../src/heartbeat/config.js'
import { type FenceDecision, FencePolicy, type FenceResult } from '../../src/heartbeat/fence-policy.js'
import { Membership } from '../../src/heartbeat/membership.js'
import type { Control } from '../../src/heartbeat/message.js'
import { ManualClock, status } from './clock.js'

const SETTINGS: FenceSettings = {
  enabled: true,
  quorum: 'majority',
  action: 'off',
  raceDelayMs: 45_000,
  timeoutMs: 40_000,
  retryMs: 5000,
  startupFencing: true,
}

/** One member's membership + policy on a manual clock; peers are driven by `hear`. */
function member(
  self: string,
  nodes: string[],
  settings: Partial<FenceSettings> = {},
  reach = nodes,
  deadtimeMs = 1000,
  pingNodes: string[] = [],
  opts: { replicas?: boolean } = {},
) {
  const clock = new ManualClock()
  /** The ping nodes that answer us now: each step of run/silence is a probe answered. */
  const answering = new Set<string>()
  const lastReply = new Map<string, number>()
  const probe = () => {
    for (const p of answering) lastReply.set(p, clock.t)
  }
  const m = new Membership({
    self,
    nodes,
    links: ['l'],
    keepaliveMs: 200,
    warntimeMs: 500,
    deadtimeMs,
    initdeadMs: 5000,
    startedAt: clock.t,
  })
  const fences: string[] = []
  /** The victim generation each fence was asked for. */
  const generations: (number | undefined)[] = []
  const decisions: FenceDecision[] = []
  let outcome: FenceResult = { ok: true }
  const policy = new FencePolicy({
    self,
    nodes,
    settings: { ...SETTINGS, ...settings },
    deadtimeMs,
    settleMs: 400,
    clock,
    view: () => m.nodes(),
    ...(pingNodes.length
      ? {
          ping: { nodes: pingNodes, deadMs: 1000 },
          pings: () => pingNodes.map((name) => ({ name, lastReplyAt: lastReply.get(name) })),
        }
      : {}),
    ...(opts.replicas ? { replicas: true } : {}),
    fence: async (node, _action, generation) => {
      fences.push(node)
      generations.push(generation)
      return outcome
    },
  })
  policy.setReach(reach.filter((n) => n !== self))
  m.onEvent((e) => policy.onMembership(e))
  policy.onDecision((d) => decisions.push(d))
  const seqs = new Map<string, number>()
  const hear = (src: string, extra: Partial<Control> = {}, gen = 7) => {
    const seq = (seqs.get(`${src}/${gen}`) ?? 0) + 1
    seqs.set(`${src}/${gen}`, seq)
    m.receive('l', status(src, seq, gen, extra), clock.t)
  }
  /** Let `ms` of silence pass, checking the deadlines every 10 ms (as the worker's timer does). */
  const silence = async (ms: number) => {
    const end = clock.t + ms
    while (clock.t < end) {
      probe()
      clock.advance(Math.min(10, end - clock.t), (t) => m.check(t))
      await Promise.resolve()
      await Promise.resolve()
    }
  }
  /** Let `ms` pass while `alive` peers keep sending every 200 ms. */
  const run = async (ms: number, alive: string[], extra: (n: string) => Partial<Control> = () => ({})) => {
    const end = clock.t + ms
    while (clock.t < end) {
      probe()
      for (const n of alive) hear(n, extra(n))
      clock.advance(Math.min(200, end - clock.t), (t) => m.check(t))
      await Promise.resolve()
      await Promise.resolve()
    }
  }
  return {
    clock,
    m,
    policy,
    fences,
    generations,
    decisions,
    hear,
    run,
    silence,
    failNext: (error: string) => {
      outcome = { ok: false, error }
    },
    succeed: () => {
      outcome = { ok: true }
    },
    /** What the gateway answers next: any result (replica mode: `by` another replica). */
    answer: (r: FenceResult) => {
      outcome = r
    },
    /** Which ping nodes answer our probes from now on. */
    uplink: (...names: string[]) => {
      answering.clear()
      for (const n of names) answering.add(n)
    },
  }
}

const reachAll = (n: string) => ({ fgfence: ['n1', 'n2', 'n3'].filter((x) => x !== n) })

describe('fence policy: three nodes', () => {
  it('the first live member in configured order fences the dead one, exactly once', async () => {
    const a = member('n1', ['n1', 'n2', 'n3'])
    await a.run(1000, ['n2', 'n3'], reachAll)
    await a.run(3000, ['n2'], reachAll)
    expect(a.fences).toEqual(['n3'])
    await a.run(10_000, ['n2'], reachAll)
    expect(a.fences).toEqual(['n3'])
    expect(a.policy.advertisedFenced().get('n3')).toBe(7)
  })

  it('a member that is not first defers, and acts when the first one cannot reach the devices', async () => {
    const b = member('n2', ['n1', 'n2', 'n3'])
    await b.run(1000, ['n1', 'n3'], reachAll)
    await b.run(3000, ['n1'], reachAll)
    expect(b.fences).toEqual([])
    expect(b.decisions).toContainEqual({
      kind: 'fence-waiting',
      node: 'n3',
      why: 'n1 will fence',
      executor: 'n1',
    })
    // n1 loses its path to n3's devices: n2 is now the first that reaches them
    await b.run(1000, ['n1'], () => ({ fgfence: ['n2'] }))
    expect(b.fences).toEqual(['n3'])
  })

  it("a member that saw another's fenced record does not fence again", async () => {
    const b = member('n2', ['n1', 'n2', 'n3'])
    await b.run(1000, ['n1', 'n3'], reachAll)
    await b.run(3000, ['n1'], () => ({ fgfence: ['n3'], fgfenced: new Map([['n3', 7]]) }))
    await b.run(1000, ['n1'], () => ({ fgfence: [] }))
    expect(b.fences).toEqual([])
  })

  it('cut off with two members whose deaths are declared a keepalive apart: no quorum, no fence', async () => {
    const a = member('n1', ['n1', 'n2', 'n3'])
    await a.run(1000, ['n2', 'n3'], reachAll)
    // the last packet of n3 arrived 150 ms after n2's: n2 is declared dead first, while n3 still
    // counts as up for 150 ms
    await a.run(150, ['n3'], reachAll)
    await a.run(5000, [], reachAll)
    expect(a.fences).toEqual([])
    expect(
      a.decisions.filter((d) => d.kind === 'fence-waiting').map((d) => (d as { why: string }).why),
    ).toContain('no quorum (1 of 3 alive, 2 needed)')
  })

  it('a heartbeat 3 peer advertising a longer deadtime lends no quorum to a member cut off alone', async () => {
    // n1 and n3 run fencegate (deadtime 1 s); n2 is heartbeat 3 with deadtime 3 s (dt=bb8, no
    // fgfence). n3 is cut off from both: n1 and n2 fence n3, and n3 must not fence n1 while its
    // own timer still holds n2 up (n2 stays "up" here for 3 s of silence)
    const peers = (n: string) => (n === 'n2' ? { dtMs: 3000 } : reachAll(n))
    const c = member('n3', ['n1', 'n2', 'n3'])
    await c.run(1000, ['n1', 'n2'], peers)
    await c.silence(5000)
    expect(c.fences).toEqual([])
    expect(c.decisions).toContainEqual({
      kind: 'fence-waiting',
      node: 'n1',
      why: 'no quorum (1 of 3 alive, 2 needed)',
    })

    const a = member('n1', ['n1', 'n2', 'n3'])
    await a.run(1000, ['n2', 'n3'], peers)
    await a.run(5000, ['n2'], peers)
    expect(a.fences).toEqual(['n3'])
  })

  it('with a longer deadtime of our own, a partner cut off with the victim, heard just after it, does not count', async () => {
    // we (n2) wait 3 s for anyone; n1 and n3 advertise 1 s. Cut off alone, n3's last packet came
    // 450 ms after n1's (a keepalive of n1's may be up to half its deadtime), more than the
    // settling time: n3 was heard after n1, but before n1 was declared dead
    const peers = (n: string) => ({ dtMs: 1000, ...reachAll(n) })
    const b = member('n2', ['n1', 'n2', 'n3'], {}, ['n1', 'n3'], 3000)
    await b.run(1000, ['n1', 'n3'], peers)
    b.clock.advance(450, (t) => b.m.check(t))
    b.hear('n3', peers('n3'))
    await b.silence(6000)
    expect(b.fences).toEqual([])
  })

  it('the minority side never fences', async () => {
    const c = member('n3', ['n1', 'n2', 'n3'])
    await c.run(1000, ['n1', 'n2'], reachAll)
    await c.run(10_000, [], reachAll)
    expect(c.fences).toEqual([])
    expect(c.policy.snapshot()).toMatchObject({ quorate: false, live: 1, needed: 2 })
    expect(c.decisions.some((d) => d.kind === 'fence-waiting' && d.why.startsWith('no quorum'))).toBe(true)
  })

  it('a node that restarts (higher generation) before anyone acts is not fenced; a clean leave never is', async () => {
    const b = member('n2', ['n1', 'n2', 'n3'], {}, [])
    await b.run(1000, ['n1', 'n3'], () => ({ fgfence: [] }))
    await b.run(2000, ['n1'], () => ({ fgfence: [] }))
    expect(b.policy.snapshot().victims.map((v) => v.node)).toEqual(['n3'])
    b.hear('n3', {}, 8)
    expect(b.policy.snapshot().victims).toEqual([])
    expect(b.decisions.at(-1)).toEqual({
      kind: 'fence-dropped',
      node: 'n3',
      why: 'restarted (higher generation)',
    })
    b.m.receive('l', { type: 'shutdone', src: 'n1', generation: 7, seq: 99, st: 'dead' }, b.clock.t)
    expect(b.policy.snapshot().victims.map((v) => v.node)).toEqual([])
  })

  it('a failed fence is tried again after retryInterval while the node stays dead', async () => {
    const a = member('n1', ['n1', 'n2', 'n3'])
    a.failNext('VERIFY_FAILED')
    await a.run(1000, ['n2', 'n3'], reachAll)
    await a.run(2000, ['n2'], reachAll)
    expect(a.fences).toEqual(['n3'])
    a.succeed()
    await a.run(6000, ['n2'], reachAll)
    expect(a.fences).toEqual(['n3', 'n3'])
    expect(a.decisions.filter((d) => d.kind === 'fence-done').map((d) => (d as { ok: boolean }).ok)).toEqual([
      false,
      true,
    ])
  })

  it('blocked (another membership authority runs here): nothing is fenced, nothing advertised', async () => {
    const a = member('n1', ['n1', 'n2', 'n3'])
    a.policy.setBlocked('corosync runs (pid 42)')
    expect(a.policy.advertisedReach()).toEqual([])
    await a.run(1000, ['n2', 'n3'], reachAll)
    await a.run(5000, ['n2'], reachAll)
    expect(a.fences).toEqual([])
  })

  it('startup fencing of a member never seen, unless turned off', async () => {
    const a = member('n1', ['n1', 'n2', 'n3'])
    await a.run(6000, ['n2'], reachAll)
    expect(a.fences).toEqual(['n3'])
    const off = member('n1', ['n1', 'n2', 'n3'], { startupFencing: false })
    await off.run(6000, ['n2'], reachAll)
    expect(off.fences).toEqual([])
  })
})

describe('fence policy: two nodes', () => {
  const two = ['n1', 'n2']
  it('split: the preferred node fences at once', async () => {
    const a = member('n1', two, { preferred: 'n1' })
    await a.run(1000, ['n2'])
    await a.run(2000, [])
    expect(a.fences).toEqual(['n2'])
  })

  it('split: the other waits raceDelay and fences only if the peer is still dead', async () => {
    const b = member('n2', two, { preferred: 'n1', raceDelayMs: 45_000 })
    await b.run(1000, ['n1'])
    await b.run(40_000, [])
    expect(b.fences).toEqual([])
    await b.run(10_000, [])
    expect(b.fences).toEqual(['n1'])

    const c = member('n2', two, { preferred: 'n1', raceDelayMs: 45_000 })
    await c.run(1000, ['n1'])
    await c.run(20_000, [])
    // the preferred node was only stalled: it is back before the race delay ran out
    await c.run(40_000, ['n1'])
    expect(c.fences).toEqual([])
  })

  it('wait-for-all: a peer not seen since we started is never fenced', async () => {
    const a = member('n1', two, { preferred: 'n1' })
    await a.run(20_000, [])
    expect(a.fences).toEqual([])
    expect(a.decisions.some((d) => d.kind === 'fence-waiting' && d.why.includes('wait-for-all'))).toBe(true)
  })

  it('the same generation returning does not cancel a fence in flight', async () => {
    const a = member('n1', two, { preferred: 'n1' })
    let release!: (v: { ok: boolean }) => void
    ;(a.policy as unknown as { o: { fence: unknown } }).o.fence = () => {
      a.fences.push('n2')
      return new Promise((r) => {
        release = r
      })
    }
    await a.run(1000, ['n2'])
    await a.run(1500, [])
    expect(a.fences).toEqual(['n2'])
    a.hear('n2')
    expect(a.policy.snapshot().victims).toMatchObject([{ node: 'n2', status: 'in-flight' }])
    release({ ok: true })
    await Promise.resolve()
    await Promise.resolve()
    expect(a.decisions.filter((d) => d.kind === 'fence-done')).toMatchObject([{ node: 'n2', ok: true }])
  })
})

const whys = (d: FenceDecision[]) => d.flatMap((x) => (x.kind === 'fence-waiting' ? [x.why] : []))

describe('fence policy: ping nodes, two nodes', () => {
  const two = ['n1', 'n2']
  const withPing = (self: string, settings: Partial<FenceSettings> = {}) => {
    const m = member(self, two, { preferred: 'n1', raceDelayMs: 45_000, ...settings }, two, 1000, ['gw'])
    m.uplink('gw')
    return m
  }
  const sees =
    (...p: string[]) =>
    () => ({ fgping: p })

  it('both see the ping node: the two-node rule stands (preferred at once, the other after raceDelay)', async () => {
    const a = withPing('n1')
    await a.run(1000, ['n2'], sees('gw'))
    await a.run(2000, [])
    expect(a.fences).toEqual(['n2'])

    const b = withPing('n2')
    await b.run(1000, ['n1'], sees('gw'))
    await b.run(40_000, [])
    expect(b.fences).toEqual([])
    await b.run(10_000, [])
    expect(b.fences).toEqual(['n1'])
  })

  it('the preferred node without its uplink defers to the peer for good, even when the ping node comes back', async () => {
    const a = withPing('n1')
    await a.run(1000, ['n2'], sees('gw'))
    a.uplink() // our uplink and the heartbeat go at once
    await a.run(5000, [])
    expect(a.fences).toEqual([])
    expect(whys(a.decisions)).toContain(
      'two-node: n2 has the uplink (it reached 1 of 1 ping nodes, we reach 0): we do not fence it',
    )
    a.uplink('gw')
    await a.run(100_000, [])
    expect(a.fences).toEqual([])
    expect(a.policy.snapshot().victims).toMatchObject([{ node: 'n2', status: 'waiting' }])
  })

  it('the other node with the uplink fences the preferred one that lost it, after raceDelay', async () => {
    // the peer told us it had lost the ping node before it fell silent
    const b = withPing('n2')
    await b.run(1000, ['n1'], sees())
    await b.run(40_000, [])
    expect(b.fences).toEqual([])
    expect(whys(b.decisions).some((w) => w.startsWith('two-node: not preferred'))).toBe(true)
    await b.run(10_000, [])
    expect(b.fences).toEqual(['n1'])
  })

  it('whose uplink goes while it waits its race delay: defers at the end of the wait, no fence', async () => {
    const b = withPing('n2')
    await b.run(1000, ['n1'], sees('gw'))
    await b.run(20_000, [])
    b.uplink()
    await b.run(40_000, [])
    expect(b.fences).toEqual([])
    expect(whys(b.decisions).at(-1)).toMatch(/^two-node: n1 has the uplink/)
  })

  it('an answer from before the death does not count: we wait for a fresh one', async () => {
    const a = withPing('n1')
    await a.run(1000, ['n2'], sees('gw'))
    // the peer falls silent; our probes stop being answered a little later (deadping 1 s)
    await a.run(600, [])
    a.uplink()
    await a.run(1000, [])
    expect(whys(a.decisions)).toContain('ping nodes: waiting for gw to answer since n2 died')
    expect(a.fences).toEqual([])
    await a.run(5000, [])
    expect(a.fences).toEqual([])
    expect(whys(a.decisions).at(-1)).toMatch(/^two-node: n2 has the uplink/)

    // the same, but the ping node answers again soon: it counts, and the preferred node fences
    const c = withPing('n1')
    await c.run(1000, ['n2'], sees('gw'))
    await c.run(800, [])
    c.uplink()
    await c.run(800, [])
    expect(whys(c.decisions)).toContain('ping nodes: waiting for gw to answer since n2 died')
    c.uplink('gw')
    await c.run(1000, [])
    expect(c.fences).toEqual(['n2'])
  })

  it('neither reaches it (the ping node itself is down): the two-node rule stands', async () => {
    const a = withPing('n1')
    a.uplink()
    await a.run(1000, ['n2'], sees())
    await a.run(3000, [])
    expect(a.fences).toEqual(['n2'])
  })

  it('a peer that does not advertise ping nodes (heartbeat 3) is taken to reach them all', async () => {
    const a = withPing('n1')
    a.uplink()
    await a.run(1000, ['n2'])
    await a.run(5000, [])
    expect(a.fences).toEqual([])
    expect(whys(a.decisions)).toContain(
      'two-node: n2 has the uplink (it reached 1 of 1 ping nodes, we reach 0): we do not fence it',
    )
  })
})

describe('fence policy: ping nodes as pseudo-members, three and four nodes', () => {
  const three = ['n1', 'n2', 'n3']
  const ping = (self: string, nodes = three) => {
    const m = member(self, nodes, {}, nodes, 1000, ['gw'])
    m.uplink('gw')
    return m
  }
  const adv =
    (nodes: string[], p: string[] = ['gw']) =>
    (n: string) => ({ fgfence: nodes.filter((x) => x !== n), fgping: p })

  it('a majority that reaches the ping node fences (2 members + 1 ping node of 4 votes)', async () => {
    const a = ping('n1')
    await a.run(1000, ['n2', 'n3'], adv(three))
    await a.run(3000, ['n2'], adv(three))
    expect(a.fences).toEqual(['n3'])
    expect(a.policy.snapshot()).toMatchObject({
      quorate: true,
      live: 2,
      needed: 3,
      ping: { nodes: 1, reached: ['gw'] },
    })
  })

  it('a majority that lost the ping node does not fence the member that has it; that member does not either', async () => {
    const a = ping('n1')
    await a.run(1000, ['n2', 'n3'], adv(three))
    a.uplink()
    await a.run(5000, ['n2'], adv(three, []))
    expect(a.fences).toEqual([])
    expect(whys(a.decisions)).toContain(
      'no quorum (2 of 3 alive, 0 of 1 ping nodes reached: 2 members and 3 votes needed)',
    )
    const c = ping('n3')
    await c.run(1000, ['n1', 'n2'], adv(three))
    await c.run(5000, [], adv(three))
    expect(c.fences).toEqual([])
  })

  it('a live member that reaches the ping node lends its vote to our partition', async () => {
    const a = ping('n1')
    await a.run(1000, ['n2', 'n3'], adv(three))
    a.uplink()
    await a.run(3000, ['n2'], adv(three))
    expect(a.fences).toEqual(['n3'])
  })

  it('four members split two and two, both halves reaching the ping node: nobody fences', async () => {
    const four = ['n1', 'n2', 'n3', 'n4']
    const a = ping('n1', four)
    await a.run(1000, ['n2', 'n3', 'n4'], adv(four))
    await a.run(5000, ['n2'], adv(four))
    expect(a.fences).toEqual([])
    const c = ping('n3', four)
    await c.run(1000, ['n1', 'n2', 'n4'], adv(four))
    await c.run(5000, ['n4'], adv(four))
    expect(c.fences).toEqual([])
  })
})

describe('fence policy: replica mode (the replicas elect who runs a fence)', () => {
  const replicaMember = (self: string) =>
    member(self, ['n1', 'n2', 'n3'], {}, undefined, 1000, [], { replicas: true })

  it('a member that is not first in order but reaches the devices asks its gateway, with the victim generation', async () => {
    const b = replicaMember('n2')
    await b.run(1000, ['n1', 'n3'], reachAll)
    await b.run(3000, ['n1'], reachAll)
    expect(b.fences).toEqual(['n3'])
    expect(b.generations).toEqual([7])
    expect(b.decisions).toContainEqual({
      kind: 'fence-start',
      node: 'n3',
      generation: 7,
      attempt: 1,
      replicas: true,
    })
    // without replica mode the same member leaves it to n1
    const plain = member('n2', ['n1', 'n2', 'n3'])
    await plain.run(1000, ['n1', 'n3'], reachAll)
    await plain.run(3000, ['n1'], reachAll)
    expect(plain.fences).toEqual([])
  })

  it("another replica's fence is reported as theirs (fenced-by-replica), never as ours; the victim counts as fenced", async () => {
    const b = replicaMember('n2')
    b.answer({ ok: true, by: { replica: 'gw1', op: 'op-42' } })
    await b.run(1000, ['n1', 'n3'], reachAll)
    await b.run(3000, ['n1'], reachAll)
    expect(b.decisions.some((d) => d.kind === 'fence-done')).toBe(false)
    expect(b.decisions).toContainEqual(
      expect.objectContaining({
        kind: 'fenced-by-replica',
        node: 'n3',
        generation: 7,
        replica: 'gw1',
        op: 'op-42',
        ok: true,
      }),
    )
    expect(b.policy.snapshot().victims).toContainEqual(
      expect.objectContaining({ node: 'n3', status: 'fenced', byReplica: { replica: 'gw1', op: 'op-42' } }),
    )
    expect(b.policy.advertisedFenced().get('n3')).toBe(7)
    await b.run(10_000, ['n1'], reachAll)
    expect(b.fences).toEqual(['n3'])
  })

  it('a failed fence of another replica is retried after retryInterval, like one of ours', async () => {
    const b = replicaMember('n2')
    b.answer({ ok: false, error: 'VERIFY_FAILED: still on', by: { replica: 'gw1', op: 'op-1' } })
    await b.run(1000, ['n1', 'n3'], reachAll)
    await b.run(2000, ['n1'], reachAll)
    expect(b.fences).toEqual(['n3'])
    b.succeed()
    await b.run(6000, ['n1'], reachAll)
    expect(b.fences).toEqual(['n3', 'n3'])
    expect(
      b.decisions.filter((d) => d.kind === 'fenced-by-replica').map((d) => (d as { ok: boolean }).ok),
    ).toEqual([false])
    expect(b.decisions.filter((d) => d.kind === 'fence-done').map((d) => (d as { ok: boolean }).ok)).toEqual([
      true,
    ])
  })

  it('a member that does not reach the devices still leaves it to the first that does', async () => {
    const b = member('n2', ['n1', 'n2', 'n3'], {}, ['n1', 'n2'], 1000, [], { replicas: true })
    await b.run(1000, ['n1', 'n3'], reachAll)
    await b.run(3000, ['n1'], reachAll)
    expect(b.fences).toEqual([])
    expect(b.decisions).toContainEqual({
      kind: 'fence-waiting',
      node: 'n3',
      why: 'n1 will fence',
      executor: 'n1',
    })
  })
})
