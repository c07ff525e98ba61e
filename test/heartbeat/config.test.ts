import { describe, expect, it } from 'vitest'
import { readHeartbeatConfig } from '../../src/heartbeat/config.js'

const BASE = {
  node: 'node1',
  nodes: ['node1', 'node2', 'node3'],
  keepalive: '200ms',
  warntime: '500ms',
  deadtime: '1s',
  initdeadtime: '30s',
  links: [
    { serial: '/dev/ttyS0', baud: 115200 },
    { mcast: { interface: 'eth0', group: '239.0.0.1', port: 694, ttl: 1 } },
    { ucast: { interface: 'eth1', peer: '10.0.0.2' } },
  ],
  authKeyFile: '/etc/fencegate/authkey',
  fence: { enabled: true, quorum: 'majority' },
}

const messages = (section: Record<string, unknown>, ctx = {}) =>
  readHeartbeatConfig(section, ctx).problems.map((p) => `${p.path.join('.')}: ${p.message}`)

describe('heartbeat config', () => {
  it('the design.md example is valid, with ha.cf names and defaults', () => {
    const { config, problems } = readHeartbeatConfig(BASE, {
      journalPath: '/var/lib/fencegate/journal.jsonl',
    })
    expect(problems).toEqual([])
    expect(config).toMatchObject({
      node: 'node1',
      keepaliveMs: 200,
      warntimeMs: 500,
      deadtimeMs: 1000,
      initdeadMs: 30_000,
      allowCrc: false,
      stateDir: '/var/lib/fencegate/heartbeat',
      fence: { enabled: true, action: 'off', timeoutMs: 40_000 },
    })
    expect(config.links.map((l) => l.name)).toEqual(['/dev/ttyS0', 'mcast:eth0', 'ucast:eth1:10.0.0.2'])
    expect(config.links[1]).toMatchObject({
      kind: 'mcast',
      group: '239.0.0.1',
      port: 694,
      ttl: 1,
      loop: false,
    })
  })

  it('fencing is off by default', () => {
    const { config } = readHeartbeatConfig({ ...BASE, fence: undefined })
    expect(config.fence.enabled).toBe(false)
  })

  it("heartbeat's timing rules; deadtime under 1s refused with fencing", () => {
    expect(messages({ ...BASE, deadtime: '300ms', warntime: '250ms' })).toEqual(
      [
        'heartbeat.deadtime: must exceed twice the keepalive (400ms)',
        'heartbeat.fence.deadtime: with fencing enabled deadtime must be at least 1s (got 300ms): a late heartbeat must not kill a node',
      ].map((m) => m.replace('heartbeat.fence.deadtime', 'heartbeat.deadtime')),
    )
    expect(messages({ ...BASE, deadtime: '900ms' })).toEqual([
      'heartbeat.deadtime: with fencing enabled deadtime must be at least 1s (got 900ms): a late heartbeat must not kill a node',
    ])
    expect(messages({ ...BASE, deadtime: '900ms', fence: { enabled: false } })).toEqual([])
    expect(messages({ ...BASE, warntime: '2s' })).toEqual([
      'heartbeat.warntime: must lie between keepalive and deadtime',
    ])
    expect(messages({ ...BASE, initdeadtime: '500ms' })).toEqual([
      'heartbeat.initdeadtime: must be at least deadtime',
    ])
    expect(messages({ ...BASE, keepalive: 'soon' })).toEqual([
      "heartbeat.keepalive: expected a duration like 200ms or 5s, got 'soon'",
    ])
  })

  it('links: every mistake with its path', () => {
    expect(
      messages({
        ...BASE,
        links: [
          { serial: 'ttyS0', baud: 115201 },
          { mcast: { interface: 'eth0', group: '10.0.0.1' } },
          { ucast: { interface: 'eth1', peer: 'node2', prot: 1 } },
          { mcast: {}, ucast: {} },
          'eth0',
        ],
      }),
    ).toEqual([
      'heartbeat.links.0.baud: expected one of 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600, got 115201',
      "heartbeat.links.0.serial: expected a tty path like /dev/ttyS0, got 'ttyS0'",
      'heartbeat.links.1.mcast.group: 10.0.0.1 is not a multicast address',
      "heartbeat.links.2.ucast.peer: expected the peer IPv4 address, got 'node2'",
      'heartbeat.links.2.ucast.prot: unknown field (did you mean port?)',
      'heartbeat.links.3: expected exactly one of serial, mcast, ucast, bcast',
      "heartbeat.links.4: expected { serial: … } or { mcast|ucast|bcast: {…} }, got 'eth0'",
    ])
    expect(messages({ ...BASE, links: [] })).toEqual([
      'heartbeat.links: expected a list of links (serial, mcast, ucast, bcast), got a list',
    ])
  })

  it('members: this node among them, lower case, no duplicates; fence targets must exist', () => {
    expect(messages({ ...BASE, node: 'node9' })).toEqual([
      "heartbeat.node: this node 'node9' is not in nodes",
    ])
    expect(messages({ ...BASE, nodes: ['node1', 'Node2', 'node1'] })).toEqual([
      "heartbeat.nodes.1: expected a lower-case node name, got 'Node2'",
      'heartbeat.nodes.2: node node1 listed twice',
    ])
    expect(messages(BASE, { fenceNodes: ['node1', 'node2'] })).toEqual([
      "heartbeat.nodes: with fencing enabled every member needs fence devices: no node 'node3' in nodes:",
    ])
    expect(messages({ ...BASE, authKey: 'secret' })).toEqual([
      'heartbeat.authKey: the key is not written in the config: use authKeyFile: PATH',
    ])
  })

  it('two-node: a preferred node is required, raceDelay must outlast the preferred node', () => {
    const two = { ...BASE, nodes: ['node1', 'node2'] }
    expect(messages(two)).toEqual([
      'heartbeat.fence.preferred: a two-node cluster needs a preferred node that fences at once (the other waits raceDelay)',
    ])
    expect(
      messages({ ...two, fence: { enabled: true, preferred: 'node1', timeout: '20s', raceDelay: '22s' } }),
    ).toEqual([
      'heartbeat.fence.raceDelay: must exceed deadtime + keepalive + fence timeout + 1000ms = 22200ms, or both nodes may fence',
    ])
    const ok = readHeartbeatConfig({ ...two, fence: { enabled: true, preferred: 'node2', timeout: '20s' } })
    expect(ok.problems).toEqual([])
    expect(ok.config.fence.raceDelayMs).toBeGreaterThan(22_200)
    expect(messages({ ...BASE, fence: { enabled: true, preferred: 'node1' } })).toEqual([
      'heartbeat.fence.preferred: preferred applies to two-node clusters only',
    ])
  })

  it('every duration has a range; none reaches what a Node timer cannot wait (2^31-1 ms)', () => {
    const range = (field: string, value: string, r: string) =>
      `heartbeat.${field}: expected a duration from ${r}, got '${value}'`
    expect(
      messages({ ...BASE, keepalive: '2m', warntime: '3m', deadtime: '10m', initdeadtime: '10m' }),
    ).toEqual([range('keepalive', '2m', '10ms to 1m')])
    expect(messages({ ...BASE, deadtime: '2h', initdeadtime: '2h' })).toEqual([
      range('deadtime', '2h', '20ms to 1h'),
    ])
    expect(messages({ ...BASE, warntime: '2h' })).toEqual([range('warntime', '2h', '0ms to 1h')])
    // 600h: past 2^31-1 ms, a timer of this length fires at once
    expect(messages({ ...BASE, initdeadtime: '600h' })).toEqual([range('initdeadtime', '600h', '0ms to 24h')])
    expect(messages({ ...BASE, fence: { enabled: false, timeout: '2h' } })).toEqual([
      range('fence.timeout', '2h', '1s to 1h'),
    ])
    expect(messages({ ...BASE, fence: { enabled: false, retryInterval: '2h' } })).toEqual([
      range('fence.retryInterval', '2h', '100ms to 1h'),
    ])
    expect(messages({ ...BASE, fence: { enabled: false, raceDelay: '600h' } })).toEqual([
      range('fence.raceDelay', '600h', '0ms to 3h'),
    ])
  })
})
