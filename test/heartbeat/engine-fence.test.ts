import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { BUILD, ensureBuilt } from './build.js'
import { type MemberProc, NetLab, memberConfig, run, sleep, startMember } from './netns.js'

/**
 * The whole path as `fencegate serve` runs it: each member loads a gateway config with a
 * heartbeat section, builds the real FenceEngine (dummy driver) and starts the heartbeat with
 * startHeartbeat(). One dummy mock PDU (firmware-mocks/dummy, real TCP protocol) in the switch
 * namespace powers the three members; when the engine switches a member's outlet off, the test
 * cuts that member's power (kills its namespace's processes).
 */
const lab = new NetLab('e', 3, 141)
const PDU_IP = '10.231.141.254'
const members: MemberProc[] = []
let pdu: ChildProcess
const changes: { plug: string; state: string }[] = []

function gatewayYaml(i: number, port: number): string {
  const hb = memberConfig(lab, i, { serial: false })
  const doc = {
    listen: '127.0.0.1:0',
    journal: `${lab.dir}/journal-n${i}.jsonl`,
    devices: { pdu: { driver: 'dummy', host: PDU_IP, port } },
    nodes: { n1: { plugs: ['pdu:1'] }, n2: { plugs: ['pdu:2'] }, n3: { plugs: ['pdu:3'] } },
    heartbeat: {
      node: `n${i}`,
      nodes: ['n1', 'n2', 'n3'],
      keepalive: '200ms',
      warntime: '500ms',
      deadtime: '1s',
      initdeadtime: '4s',
      links: hb.links.map((l) =>
        l.kind === 'mcast'
          ? { mcast: { interface: l.interface, group: l.group, port: l.port, ttl: 1 } }
          : l.kind === 'ucast'
            ? { name: l.name, ucast: { interface: l.interface, peer: l.peer } }
            : {},
      ),
      authKeyFile: hb.authKeyFile,
      stateDir: hb.stateDir,
      fence: { enabled: true, timeout: '10s', startupFencing: false },
    },
  }
  const file = `${lab.dir}/gateway-n${i}.yaml`
  writeFileSync(file, stringify(doc))
  return file
}

function journal(i: number): Record<string, unknown>[] {
  return readFileSync(`${lab.dir}/journal-n${i}.jsonl`, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
}

describe('heartbeat fencing through the real engine', () => {
  beforeAll(async () => {
    ensureBuilt()
    lab.up()
    run('ip', ['-n', lab.ns(0), 'addr', 'add', `${PDU_IP}/24`, 'dev', 'fghbbrm'])
    pdu = spawn(
      'ip',
      ['netns', 'exec', lab.ns(0), 'node', `${BUILD}/test/heartbeat/power-main.js`, PDU_IP, '3'],
      {
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    )
    let port = 0
    createInterface({ input: pdu.stdout! }).on('line', (l) => {
      const m = JSON.parse(l)
      if (m.type === 'listening') port = m.port
      if (m.type === 'change') {
        changes.push(m)
        // the outlet of a member went off: its power is gone
        if (m.state === 'off') members[Number(m.plug) - 1]?.kill()
      }
    })
    for (let i = 0; i < 100 && !port; i++) await sleep(50)
    for (let i = 1; i <= 3; i++)
      members.push(
        startMember(lab, i, memberConfig(lab, i, { serial: false }), { engineConfig: gatewayYaml(i, port) }),
      )
    for (const m of members)
      await m.until(
        'peers up',
        () =>
          new Set(
            m
              .events()
              .filter((e) => e.kind === 'node-up')
              .map((e) => e.node),
          ).size === 2,
      )
  }, 90_000)

  afterAll(async () => {
    await Promise.all(members.map((m) => m.stop()))
    pdu?.stdin?.end()
    await sleep(200)
    pdu?.kill()
    lab.down()
  })

  it('n3 cut off: n1 fences it through the engine (off, read back), journaled as initiated by the heartbeat', async () => {
    const [n1, n2, n3] = members
    lab.cable(3, 'm', false)
    lab.cable(3, 'u', false)
    const done = await n1!.untilEvent('fence done', (e) => e.kind === 'fence-done' && e.node === 'n3', 20_000)
    expect(done).toMatchObject({ ok: true })
    await n3!.until('n3 powered off', () => n3!.exited)
    expect(changes).toEqual([{ type: 'change', plug: '3', state: 'off' }])
    const j1 = journal(1)
    const intent = j1.find((r) => r.t === 'intent' && r.kind === 'fence')
    expect(intent).toMatchObject({
      action: 'off',
      nodes: ['n3'],
      initiator: { name: 'heartbeat', role: 'fencer', via: 'heartbeat' },
    })
    expect(j1.find((r) => r.t === 'result' && r.op === intent!.op)).toMatchObject({
      node: 'n3',
      outcome: 'success',
    })
    // membership changes are in the journal too
    expect(j1).toContainEqual(
      expect.objectContaining({
        t: 'event',
        source: 'heartbeat',
        event: 'node-dead',
        fields: expect.objectContaining({ node: 'n3' }),
      }),
    )
    // the event reaches n1's stdout before its journal line is written: wait for the line
    await n1!.until('fence-done journaled', () =>
      journal(1).some((r) => r.t === 'event' && r.source === 'heartbeat' && r.event === 'fence-done'),
    )
    expect(journal(1)).toContainEqual(
      expect.objectContaining({
        t: 'event',
        source: 'heartbeat',
        event: 'fence-done',
        fields: expect.objectContaining({ node: 'n3', ok: true }),
      }),
    )
    await sleep(1000)
    expect(journal(2).some((r) => r.t === 'intent')).toBe(false)
    expect(n2!.events().some((e) => e.kind === 'fence-start')).toBe(false)
  })
})
