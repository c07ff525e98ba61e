import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import type { HeartbeatSnapshot } from '../../src/heartbeat/protocol.js'
import { BUILD, ensureBuilt } from './build.js'
import { type MemberProc, NetLab, memberConfig, sleep, startMember } from './netns.js'

/**
 * End to end as a user runs it: `fencegate serve --config` (compiled CLI) in namespace n1 starts
 * the heartbeat from the config's heartbeat section; a member n2 runs in its own namespace;
 * `fencegate members` and /metrics are asked from inside n1's namespace over the REST API.
 */
const lab = new NetLab('i', 2, 151)
const TOKEN = 'fghb-e2e-token-0123456789abcdef0123456789'
const CLI = () => `${BUILD}/src/cli/main.js`
let serve: ChildProcess
let serveOut = ''
let n2: MemberProc

function inNs(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync('ip', ['netns', 'exec', lab.ns(1), ...args], { timeout: 20_000 })
  return { code: r.status, out: r.stdout.toString(), err: r.stderr.toString() }
}

const members = (json: boolean) =>
  inNs([
    'node',
    CLI(),
    'members',
    '--url',
    'http://127.0.0.1:18443',
    '--token-file',
    `${lab.dir}/token`,
    ...(json ? ['--json'] : []),
  ])

describe('fencegate serve with a heartbeat section; fencegate members', () => {
  beforeAll(async () => {
    ensureBuilt()
    lab.up()
    const hb = memberConfig(lab, 1, { serial: false })
    writeFileSync(`${lab.dir}/token`, `${TOKEN}\n`, { mode: 0o600 })
    const config = {
      listen: '127.0.0.1:18443',
      auth: {
        tokens: [
          { name: 'ops', role: 'viewer', hash: `sha256:${createHash('sha256').update(TOKEN).digest('hex')}` },
        ],
      },
      journal: `${lab.dir}/gw1/journal.jsonl`,
      devices: {},
      nodes: {},
      heartbeat: {
        node: 'n1',
        nodes: ['n1', 'n2'],
        keepalive: '200ms',
        deadtime: '1s',
        warntime: '500ms',
        initdeadtime: '4s',
        links: [
          { mcast: { interface: 'fghbm', group: '239.0.0.231', port: 694, ttl: 1 } },
          { name: 'ucast-n2', ucast: { interface: 'fghbu', peer: lab.ip(2, 'u') } },
        ],
        authKeyFile: hb.authKeyFile,
      },
    }
    writeFileSync(`${lab.dir}/gw1.yaml`, stringify(config))
    serve = spawn(
      'ip',
      ['netns', 'exec', lab.ns(1), 'node', CLI(), 'serve', '--config', `${lab.dir}/gw1.yaml`],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    serve.stdout!.on('data', (d) => (serveOut += d))
    serve.stderr!.on('data', (d) => (serveOut += d))
    n2 = startMember(lab, 2, memberConfig(lab, 2, { serial: false }))
    await n2.until('n1 up', () => n2.events().find((e) => e.kind === 'node-up' && e.node === 'n1'), 30_000)
  }, 90_000)

  afterAll(async () => {
    serve?.kill('SIGKILL')
    await n2?.stop()
    lab.down()
  })

  it('members (JSON): both up, links, quorum, generation from the gateway', async () => {
    let r = members(true)
    for (let i = 0; i < 20 && (r.code !== 0 || !r.out.includes('"state": "up"')); i++) {
      await sleep(250)
      r = members(true)
    }
    expect(r.code).toBe(0)
    const s = JSON.parse(r.out) as HeartbeatSnapshot
    expect(s.node).toBe('n1')
    expect(s.nodes.map((n) => [n.name, n.state])).toEqual([
      ['n1', 'up'],
      ['n2', 'up'],
    ])
    const peer = s.nodes[1]!
    expect(peer.links.map((l) => [l.name, l.state])).toEqual([
      ['mcast:fghbm', 'up'],
      ['ucast-n2', 'up'],
    ])
    expect(s.fencing).toMatchObject({ enabled: false, victims: [] })
    expect(s.quorum).toMatchObject({ members: 2, live: 2, twoNode: true })
  })

  it('members (table) and /metrics', () => {
    const r = members(false)
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/^NODE\s+STATE\s+LAST HEARD/m)
    expect(r.out).toMatch(/^n2\s+up\s+\d+ms ago/m)
    expect(r.out).toMatch(/quorum: 2 of 2 alive, 1 needed \(two-node\): quorate/)
    const m = inNs([
      'node',
      '-e',
      `fetch('http://127.0.0.1:18443/metrics',{headers:{authorization:'Bearer ${TOKEN}'}}).then(r=>r.text()).then(t=>process.stdout.write(t))`,
    ])
    expect(m.out).toMatch(/^fencegate_heartbeat_node_up\{node="n2"\} 1$/m)
    expect(m.out).toMatch(/^fencegate_heartbeat_link_up\{node="n2",link="ucast-n2"\} 1$/m)
    expect(m.out).toMatch(/^fencegate_heartbeat_quorate 1$/m)
    expect(m.out).toMatch(/^fencegate_heartbeat_packets_received_total\{link="mcast:fghbm"\} \d+$/m)
  })

  it('n2 goes silent: members says dead and exits 1; serve stopped: n2 sees a clean leave', async () => {
    n2.signalTree('SIGSTOP')
    await sleep(2000)
    const r = members(false)
    n2.signalTree('SIGCONT')
    expect(r.code).toBe(1)
    expect(r.out).toMatch(/^n2\s+dead \(timeout\)/m)
    // thawed, n2 reads n1's queued heartbeats before judging: n1 stays up for it
    await sleep(1500)
    const snap = await n2.snapshot()
    expect(snap.nodes.find((n) => n.name === 'n1')!.state).toBe('up')
    expect(n2.events().some((e) => e.kind === 'node-dead' && e.node === 'n1')).toBe(false)
    const before = n2.events().length
    serve.kill('SIGTERM')
    const left = await n2.until('n1 left', () =>
      n2
        .events()
        .slice(before)
        .find((e) => e.kind === 'node-dead' && e.node === 'n1'),
    )
    expect(left).toMatchObject({ reason: 'shutdown' })
    await new Promise((r) => serve.once('exit', r))
    expect(serveOut).toMatch(/heartbeat up: node n1/)
  })
})
