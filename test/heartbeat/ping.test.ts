import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSocket } from 'node:dgram'
import { performance } from 'node:perf_hooks'
import { afterAll, describe, expect, it } from 'vitest'
import { decode } from '../../src/heartbeat/codec.js'
import { type PingSettings, readHeartbeatConfig } from '../../src/heartbeat/config.js'
import { readControl, statusMsg } from '../../src/heartbeat/message.js'
import { Pinger, type PingView } from '../../src/heartbeat/ping.js'
import type { HeartbeatSnapshot } from '../../src/heartbeat/protocol.js'
import { encodeNetstring } from '../../src/heartbeat/codec.js'

const BASE = {
  node: 'alpha',
  nodes: ['alpha', 'beta'],
  keepalive: '200ms',
  deadtime: '2s',
  links: [{ ucast: { interface: 'eth1', peer: '10.0.0.2' } }],
  authKeyFile: '/etc/fencegate/authkey',
}
const messages = (section: Record<string, unknown>) =>
  readHeartbeatConfig(section).problems.map((p) => `${p.path.join('.')}: ${p.message}`)

describe('ping nodes: config', () => {
  it('ping and pingGroups, with heartbeat-like defaults (a probe every keepalive, deadping = deadtime)', () => {
    const { config, problems } = readHeartbeatConfig({
      ...BASE,
      ping: ['10.0.0.254'],
      pingGroups: { uplink: ['10.0.1.1', '10.0.1.2'] },
    })
    expect(problems).toEqual([])
    expect(config.ping).toEqual({
      nodes: [
        { name: '10.0.0.254', addresses: ['10.0.0.254'], group: false },
        { name: 'uplink', addresses: ['10.0.1.1', '10.0.1.2'], group: true },
      ],
      method: 'icmp',
      port: 7,
      intervalMs: 200,
      timeoutMs: 200,
      deadMs: 2000,
    })
    expect(readHeartbeatConfig({ ...BASE, keepalive: '5s', deadtime: '30s' }).config.ping).toMatchObject({
      nodes: [],
      intervalMs: 1000,
      deadMs: 30_000,
    })
  })

  it('every mistake with its path', () => {
    expect(
      messages({
        ...BASE,
        ping: ['10.0.0.254', 'router', '10.0.0.254'],
        pingGroups: { 'bad name': ['10.0.1.1'], empty: [], '10.0.0.9': ['10.0.1.2'] },
        pingMethod: 'tcp',
      }),
    ).toEqual([
      "heartbeat.ping.1: expected an IPv4 address, got 'router'",
      'heartbeat.ping.2: 10.0.0.254 is listed twice (a ping node counts once)',
      'heartbeat.pingGroups.bad name: a group name is letters, digits, _ . - (not an address)',
      'heartbeat.pingGroups.empty: expected a non-empty list of IPv4 addresses, got none',
      'heartbeat.pingGroups.10.0.0.9: a group name is letters, digits, _ . - (not an address)',
      "heartbeat.pingMethod: expected one of icmp, udp, got 'tcp'",
    ])
    expect(
      messages({ ...BASE, ping: ['10.0.0.1'], pingInterval: '1s', pingTimeout: '2s', deadping: '1500ms' }),
    ).toEqual([
      'heartbeat.pingTimeout: must not exceed pingInterval (1000ms)',
      'heartbeat.deadping: must exceed twice the pingInterval (2000ms)',
    ])
    expect(messages({ ...BASE, ping: ['10.0.0.1'], pingInterval: '10ms' })).toEqual([
      "heartbeat.pingInterval: expected a duration from 200ms to 1m, got '10ms'",
    ])
  })

  it('with fencing: deadping at most deadtime; raceDelay also outlasts one probe', () => {
    const fence = { enabled: true, preferred: 'alpha', timeout: '10s' }
    expect(
      messages({ ...BASE, ping: ['10.0.0.1'], deadping: '3s', fence: { ...fence, raceDelay: '1m' } }),
    ).toEqual([
      'heartbeat.deadping: with fencing enabled deadping must not exceed deadtime (2000ms): a member must know it lost its ping nodes before it judges a dead peer',
    ])
    // 2 s + 200 ms + 10 s + 1 s: enough without ping nodes, not with a 1 s probe on top
    expect(messages({ ...BASE, fence: { ...fence, raceDelay: '13500ms' } })).toEqual([])
    expect(
      messages({
        ...BASE,
        ping: ['10.0.0.1'],
        pingInterval: '500ms',
        fence: { ...fence, raceDelay: '13500ms' },
      }),
    ).toEqual([
      'heartbeat.fence.raceDelay: must exceed deadtime + keepalive + fence timeout + pingInterval + pingTimeout + 1000ms = 14200ms, or both nodes may fence',
    ])
    expect(readHeartbeatConfig({ ...BASE, ping: ['10.0.0.1'], fence }).problems).toEqual([])
  })
})

describe('ping nodes: the advert (fgping, a field heartbeat 3 ignores)', () => {
  const sender = { node: 'alpha', uuid: Buffer.alloc(16, 1), generation: 5, nodeCount: 2 }
  const roundTrip = (ping?: string[]) => {
    const wire = encodeNetstring(
      statusMsg(sender, 1, { st: 'active', dtMs: 2000, loadavg: 'n/a', ...(ping ? { ping } : {}) }),
      () => 'x',
    )
    return readControl(decode(wire).fields)
  }
  it('names separated by spaces, "-" for none (heartbeat refuses an empty value), absent when not configured', () => {
    expect(roundTrip(['10.0.0.254', 'uplink'])?.fgping).toEqual(['10.0.0.254', 'uplink'])
    expect(roundTrip([])?.fgping).toEqual([])
    expect(roundTrip()?.fgping).toBeUndefined()
  })
})

const tmp = mkdtempSync(join(tmpdir(), 'fg-ping-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

function settings(o: Partial<PingSettings> & { addresses?: string[] } = {}): PingSettings {
  const addresses = o.addresses ?? ['127.0.0.1']
  return {
    nodes: [{ name: 'gw', addresses, group: addresses.length > 1 }],
    method: 'icmp',
    port: 7,
    intervalMs: 200,
    timeoutMs: 200,
    deadMs: 700,
    ...o,
  }
}

/** Run a pinger until `pred` holds over its view (bounded), then stop it. */
async function watch(
  s: PingSettings,
  pred: (v: PingView) => boolean,
  o: { command?: string; forMs?: number } = {},
): Promise<{ view: PingView; changes: string[] }> {
  const changes: string[] = []
  const p = new Pinger({
    settings: s,
    now: () => performance.now(),
    ...(o.command ? { command: o.command } : {}),
    onChange: (v) => changes.push(v.state),
  })
  p.start()
  const end = Date.now() + (o.forMs ?? 20_000)
  try {
    for (;;) {
      const view = p.views()[0]!
      if (pred(view) || Date.now() > end) return { view, changes }
      await new Promise((r) => setTimeout(r, 50))
    }
  } finally {
    p.stop()
  }
}

const script = (name: string, body: string) => {
  const f = join(tmp, name)
  writeFileSync(f, `#!/bin/sh\n${body}\n`)
  chmodSync(f, 0o755)
  return f
}

describe('ping nodes: probes', () => {
  it('ICMP echo through the system ping binary: loopback answers', async () => {
    const { view, changes } = await watch(settings(), (v) => v.state === 'up')
    expect(view.state).toBe('up')
    expect(changes).toEqual(['up'])
  })

  it('UDP echo: up while the echo server answers, dead a deadping after it stops', async () => {
    const echo = createSocket('udp4')
    echo.on('message', (m, r) => echo.send(m, r.port, r.address))
    await new Promise<void>((r) => echo.bind(0, '127.0.0.1', r))
    const port = echo.address().port
    const s = settings({ method: 'udp', port })
    const changes: string[] = []
    const p = new Pinger({
      settings: s,
      now: () => performance.now(),
      onChange: (v) => changes.push(v.state),
    })
    p.start()
    try {
      const until = async (state: string) => {
        const end = Date.now() + 20_000
        while (changes.at(-1) !== state && Date.now() < end) await new Promise((r) => setTimeout(r, 50))
        return changes.at(-1)
      }
      expect(await until('up')).toBe('up')
      echo.close()
      expect(await until('dead')).toBe('dead')
      expect(changes).toEqual(['up', 'dead'])
    } finally {
      p.stop()
    }
  })

  it('a group is up while any of its addresses answers', async () => {
    const echo = createSocket('udp4')
    echo.on('message', (m, r) => echo.send(m, r.port, r.address))
    await new Promise<void>((r) => echo.bind(0, '127.0.0.1', r))
    try {
      // 127.0.0.2 has no echo server: only the first address answers
      const { view } = await watch(
        settings({ method: 'udp', port: echo.address().port, addresses: ['127.0.0.2', '127.0.0.1'] }),
        (v) => v.state === 'up',
      )
      expect(view.state).toBe('up')
      expect(view.replies['127.0.0.2']).toBeUndefined()
      expect(view.replies['127.0.0.1']).toBeTypeOf('number')
    } finally {
      echo.close()
    }
  })

  it('only an echo reply from the address itself, within the probe timeout, counts', async () => {
    const late = script('late', 'echo "64 bytes from 127.0.0.1: icmp_seq=0 ttl=64 time=0.1 ms"\nexec sleep 5')
    const unreachable = script(
      'unreach',
      'echo "92 bytes from 127.0.0.9: Destination Host Unreachable"\nexit 0',
    )
    const other = script('other', 'echo "64 bytes from 127.0.0.9: icmp_seq=0 ttl=64 time=0.1 ms"\nexit 0')
    for (const command of [late, unreachable, other]) {
      const { view, changes } = await watch(settings(), (v) => v.state === 'dead', { command })
      expect(view.state).toBe('dead')
      expect(view.lastReplyAt).toBeUndefined()
      expect(changes).toEqual([])
    }
  })

  it('a missing binary is logged once, and the ping node is dead', async () => {
    const logs: string[] = []
    const p = new Pinger({
      settings: settings(),
      now: () => performance.now(),
      command: join(tmp, 'no-such-ping'),
      log: (_l, m) => logs.push(m),
    })
    p.start()
    await new Promise((r) => setTimeout(r, 1000))
    const state = p.views()[0]!.state
    p.stop()
    expect(state).toBe('dead')
    expect(logs).toHaveLength(1)
    expect(logs[0]).toMatch(/cannot run .*no-such-ping.*install iputils-ping or use pingMethod: udp/)
  })
})

describe('ping nodes: fencegate members', () => {
  it('shows the ping nodes and, with three members or more, the votes', async () => {
    const { membersTable } = await import('../../src/heartbeat/cli.js')
    const snap: HeartbeatSnapshot = {
      node: 'n1',
      generation: 7,
      uuid: '00',
      startedAt: '2026-12-04T00:00:00.000Z',
      keepaliveMs: 200,
      warntimeMs: 500,
      deadtimeMs: 1000,
      initdeadMs: 12_000,
      authMethod: 'sha1',
      nodes: [],
      links: [],
      quorum: {
        members: 3,
        live: 2,
        needed: 3,
        quorate: true,
        twoNode: false,
        ping: { nodes: 2, reached: ['gw'] },
      },
      ping: [
        { name: 'gw', addresses: ['10.0.0.1'], group: false, state: 'up', lastHeardAgoMs: 120 },
        { name: 'core', addresses: ['10.0.0.2', '10.0.0.3'], group: true, state: 'dead' },
      ],
      fencing: { enabled: true, action: 'off', canFence: [], victims: [] },
      sent: { packets: 1, maxTimerLagMs: 0 },
    }
    const out = membersTable(snap)
    expect(out).toContain('quorum: 2 of 3 alive + 1 of 2 ping nodes, 3 votes needed: quorate')
    expect(out).toContain('ping nodes: gw up 120ms ago, core (10.0.0.2 10.0.0.3) dead')
  })
})
