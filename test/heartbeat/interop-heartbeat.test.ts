import { writeFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { HeartbeatConfig } from '../../src/heartbeat/config.js'
import type { HeartbeatEvent } from '../../src/heartbeat/protocol.js'
import { ensureBuilt } from './build.js'
import { HbDaemon } from './hb-daemon.js'
import { FENCE_OFF, type MemberProc, NetLab, sleep, startMember } from './netns.js'

/**
 * Interop with a real Linux-HA heartbeat 3.0.6 daemon (Debian bookworm package `heartbeat`):
 * heartbeat as node `hbnode` in one namespace, fencegate as `fgnode` in another, joined by
 * multicast, unicast and a null-modem pty, sha1 authkeys. Each must see the other up on every
 * link, declare it dead when it stops, and reject the other's packets under a wrong key.
 */
const lab = new NetLab('h', 2, 121)
const KEYS = 'auth 1\n1 sha1 interop-key-3.0.6\n'
let hb: HbDaemon
let fg: MemberProc

function fgConfig(keyFile: string): HeartbeatConfig {
  return {
    node: 'fgnode',
    nodes: ['hbnode', 'fgnode'],
    keepaliveMs: 200,
    warntimeMs: 500,
    deadtimeMs: 1000,
    initdeadMs: 3000,
    links: [
      {
        kind: 'mcast',
        name: 'mcast',
        interface: 'fghbm',
        group: '239.0.0.231',
        port: 694,
        ttl: 1,
        loop: false,
      },
      { kind: 'ucast', name: 'ucast', interface: 'fghbu', peer: lab.ip(1, 'u'), port: 694 },
      { kind: 'serial', name: 'serial', path: lab.ptyPath(2, 1), baud: 115200, rtscts: false },
    ],
    authKeyFile: keyFile,
    allowCrc: false,
    stateDir: `${lab.dir}/fg-state`,
    fence: FENCE_OFF,
  }
}

function startFg(keys = KEYS): MemberProc {
  const file = `${lab.dir}/fg-authkeys-${keys === KEYS ? 'good' : 'bad'}`
  writeFileSync(file, keys, { mode: 0o600 })
  fg = startMember(lab, 2, fgConfig(file))
  return fg
}

const hbEvent = (m: MemberProc, pred: (e: HeartbeatEvent) => boolean, after = 0) =>
  m.until('event', () => m.events().slice(after).find(pred))

describe('interop with Linux-HA heartbeat 3.0.6', () => {
  beforeAll(async () => {
    ensureBuilt()
    lab.up()
    await lab.serial(1, 2)
    hb = new HbDaemon({
      ns: lab.ns(1),
      dir: `${lab.dir}/hb`,
      hostname: 'hbnode',
      media: [
        `serial ${lab.ptyPath(1, 2)}`,
        'mcast fghbm 239.0.0.231 694 1 0',
        `ucast fghbu ${lab.ip(2, 'u')}`,
      ],
      nodes: ['hbnode', 'fgnode'],
      authkeys: KEYS,
    })
    await hb.start()
    startFg()
  }, 90_000)

  afterAll(async () => {
    await fg?.stop()
    hb?.kill()
    // kept for a look after a failure
    writeFileSync(
      '/tmp/fghb-interop-last.log',
      `${hb?.logText()}\n---- fencegate\n${fg?.lines.map((l) => JSON.stringify(l)).join('\n')}`,
    )
    lab.down()
  })

  it('each sees the other up on mcast, ucast and serial (sha1)', async () => {
    await hbEvent(fg, (e) => e.kind === 'node-up' && e.node === 'hbnode')
    await fg.until('hbnode up on every link', () => {
      const ups = new Set(
        fg.events().flatMap((e) => (e.kind === 'link-up' && e.node === 'hbnode' ? [e.link] : [])),
      )
      return ['mcast', 'ucast', 'serial'].every((l) => ups.has(l))
    })
    // heartbeat's own words
    await hb.untilLog(/Status update for node fgnode: status active/)
    await hb.untilLog(/Link fgnode:fghbu up/)
    await hb.untilLog(/Link fgnode:fghbm up/)
    await hb.untilLog(new RegExp(`Link fgnode:${lab.ptyPath(1, 2)} up`))
    const snap = await fg.snapshot()
    const node = snap.nodes.find((n) => n.name === 'hbnode')!
    expect(node).toMatchObject({ state: 'up', software: 'heartbeat' })
    expect(node.links.map((l) => [l.name, l.state])).toEqual([
      ['mcast', 'up'],
      ['ucast', 'up'],
      ['serial', 'up'],
    ])
    for (const l of snap.links) expect(Object.keys(l.dropped).filter((k) => k.startsWith('auth'))).toEqual([])
    expect(hb.logText()).not.toMatch(/authentication failed|authtoken does not match/)
  })

  it('fencegate loses power: heartbeat declares it dead; back with a higher generation: a restart', async () => {
    const from = hb.logText().length
    fg.kill()
    await hb.untilLog(/node fgnode: is dead/, from)
    const back = startFg()
    await hbEvent(back, (e) => e.kind === 'node-up' && e.node === 'hbnode')
    await hb.untilLog(/Heartbeat restart on node fgnode/, from)
    await hb.untilLog(/Status update for node fgnode: status active/, from)
  })

  it('fencegate stops cleanly: heartbeat receives its shutdown notice', async () => {
    const from = hb.logText().length
    await fg.stop()
    await hb.untilLog(/Received shutdown notice from 'fgnode'/, from)
    startFg()
    await hbEvent(fg, (e) => e.kind === 'node-up' && e.node === 'hbnode')
  })

  it('heartbeat loses power: fencegate declares it dead after its advertised deadtime; it restarts', async () => {
    await hb.untilLog(/Status update for node fgnode: status active/)
    const after = fg.events().length
    hb.kill()
    const dead = await hbEvent(fg, (e) => e.kind === 'node-dead' && e.node === 'hbnode', after)
    expect(dead).toMatchObject({ reason: 'timeout' })
    await hb.start()
    const up = await hbEvent(fg, (e) => e.kind === 'node-up' && e.node === 'hbnode', after)
    expect(up).toMatchObject({ reason: 'restart' })
  })

  it('heartbeat stops cleanly: fencegate records a clean leave (never to be fenced)', async () => {
    const after = fg.events().length
    await hb.stop()
    const gone = await hbEvent(fg, (e) => e.kind === 'node-dead' && e.node === 'hbnode', after)
    expect(gone).toMatchObject({ reason: 'shutdown' })
    await sleep(1500)
    // heartbeat goes on sending status while it winds down: none of it brings the node back
    expect(
      fg
        .events()
        .slice(after)
        .filter((e) => e.kind === 'node-up'),
    ).toEqual([])
    await hb.start()
    await hbEvent(fg, (e) => e.kind === 'node-up' && e.node === 'hbnode' && e.reason === 'restart', after)
  })

  it('wrong keys are rejected on both sides', async () => {
    await hb.untilLog(/Status update for node fgnode: status active/)
    const from = hb.logText().length
    fg.kill()
    await hb.untilLog(/node fgnode: is dead/, from)
    const mark = hb.logText().length
    const bad = startFg('auth 1\n1 sha1 not-the-cluster-key\n')
    // fencegate: every heartbeat packet fails authentication, hbnode is never up
    await hbEvent(bad, (e) => e.kind === 'node-dead' && e.node === 'hbnode' && e.reason === 'never-seen')
    const snap = await bad.snapshot()
    expect(snap.nodes.find((n) => n.name === 'hbnode')!.state).toBe('dead')
    for (const l of snap.links) expect(l.dropped['auth-mismatch'] ?? 0).toBeGreaterThan(0)
    // heartbeat: fgnode stays dead, no link of it comes up
    const log = hb.logText().slice(mark)
    expect(log).not.toMatch(/Status update for node fgnode/)
    expect(log).not.toMatch(/Link fgnode:\S+ up/)
    // and says why: the UDP netstrings and the classic serial frames both fail its check
    expect(log).toMatch(/netstring authentication failed/)
    expect(log).toMatch(/authtoken does not match/)
    expect(snap.sent.packets).toBeGreaterThan(10)
  })
})
