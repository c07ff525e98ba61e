import { chmodSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type net from 'node:net'
import path from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { PhysicalState } from '../../firmware-mocks/simulator.js'
import { closedPort } from '../helpers/net.js'
import { type AgentGateway, buildAgent, runAgent, startAgentGateway } from './harness.js'

/**
 * fence_fencegate end to end: the built bin, spawned as Pacemaker spawns it (options on
 * stdin), against a real gateway (startServer) over an engine over dummy mock devices.
 */
let g: AgentGateway
const sim = (dev: string) => g.gw.lab.device(dev)!.sim
/** Every state change of every outlet, in order: did the outlet really go off? */
const changes: { dev: string; plug: string; state: PhysicalState }[] = []

beforeAll(async () => {
  buildAgent()
  g = await startAgentGateway({
    devices: {
      pdu: { kind: 'dummy', plugs: 8 },
      pdu2: { kind: 'dummy', plugs: 4 },
    },
    nodes: {
      node1: { plugs: ['pdu:1'] },
      node2: { plugs: ['pdu:2', 'pdu:3'] }, // dual power supply
      node3: { plugs: ['pdu2:1'] },
    },
    engine: { fenceHold: '30s', probeTimeout: '300ms', retries: 0, defaultTimeout: '5s' },
    tokens: [
      { name: 'pacemaker', role: 'fencer' },
      { name: 'only1', role: 'fencer', nodes: ['node1'] },
      { name: 'ops', role: 'operator' },
      { name: 'watcher', role: 'viewer' },
    ],
  })
  for (const dev of ['pdu', 'pdu2'])
    sim(dev).on('change', (plug, state) => changes.push({ dev, plug, state }))
}, 120_000)
afterAll(async () => {
  await g?.stop()
})
beforeEach(() => {
  changes.length = 0
  for (const dev of ['pdu', 'pdu2']) {
    sim(dev).faults.clear()
    for (const p of sim(dev).plugIds()) sim(dev).setPhysical(p, 'on')
  }
  changes.length = 0
})

const agent = (opts: Record<string, string | number>, token = 'pacemaker') =>
  runAgent({ stdin: { url: g.url, token_file: g.tokenFile[token]!, ...opts } })

describe('off, on, reboot, status through the gateway', () => {
  it('off: Success: Powered OFF, the outlet really went off; again: Already OFF', async () => {
    const r = await agent({ action: 'off', nodename: 'node1', plug: 'node1' })
    expect(r).toMatchObject({ code: 0, stdout: 'Success: Powered OFF\n', stderr: '' })
    expect(sim('pdu').state('1')).toBe('off')
    expect(changes).toEqual([{ dev: 'pdu', plug: '1', state: 'off' }])
    const again = await agent({ action: 'off', plug: 'node1' })
    expect(again).toMatchObject({ code: 0, stdout: 'Success: Already OFF\n' })
  })

  it('status: exit 0 and Status: ON, exit 2 and Status: OFF', async () => {
    expect(await agent({ action: 'status', plug: 'node1' })).toMatchObject({
      code: 0,
      stdout: 'Status: ON\n',
    })
    sim('pdu').setPhysical('1', 'off')
    expect(await agent({ action: 'status', plug: 'node1' })).toMatchObject({
      code: 2,
      stdout: 'Status: OFF\n',
    })
  })

  it('on: Success: Powered ON (a fencer token, even under fence hold)', async () => {
    expect((await agent({ action: 'off', plug: 'node1' })).code).toBe(0)
    const r = await agent({ action: 'on', plug: 'node1' })
    expect(r).toMatchObject({ code: 0, stdout: 'Success: Powered ON\n' })
    expect(sim('pdu').state('1')).toBe('on')
  })

  it('on under fence hold with an operator token: refused with the reason, exit 1', async () => {
    expect((await agent({ action: 'off', plug: 'node1' })).code).toBe(0)
    const r = await agent({ action: 'on', plug: 'node1' }, 'ops')
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^Failed: power-on of node node1 refused: .*fence.*only a fencer token/m)
    expect(sim('pdu').state('1')).toBe('off')
  })

  it('reboot of a dual-PSU node: both outlets off before either is on, Success: Rebooted', async () => {
    const r = await agent({ action: 'reboot', plug: 'node2' })
    expect(r).toMatchObject({ code: 0, stdout: 'Success: Rebooted\n', stderr: '' })
    const offs = changes.filter((c) => c.state === 'off').map((c) => c.plug)
    expect(offs.sort()).toEqual(['2', '3'])
    const firstOn = changes.findIndex((c) => c.state === 'on')
    expect(firstOn).toBeGreaterThan(changes.findLastIndex((c) => c.state === 'off'))
    expect([sim('pdu').state('2'), sim('pdu').state('3')]).toEqual(['on', 'on'])
  })

  it('reboot whose power-on is not verified: exit 0 (the off was), the failure on stderr', async () => {
    // the outlet obeys the off, then acknowledges the on and does nothing (a stuck relay)
    sim('pdu').once('change', () => sim('pdu').faults.add({ type: 'lie', plugs: ['1'] }))
    const r = await agent({ action: 'reboot', plug: 'node1', power_timeout: 3 })
    expect(r.code).toBe(0)
    expect(r.stdout).toBe('Success: Rebooted\n')
    expect(r.stderr).toMatch(
      /^Warning: node node1 was fenced \(every plug read back off\) but the power-on was not verified: /,
    )
    expect(sim('pdu').state('1')).toBe('off')
  })

  it('off that does not read back off: Failed, exit 1, never Success', async () => {
    sim('pdu').faults.add({ type: 'lie', plugs: ['1'] })
    const r = await agent({ action: 'off', plug: 'node1', power_timeout: 2 })
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    // fence-agents' words, with "timed out" in them: Pacemaker maps that to ETIME
    expect(r.stderr).toMatch(
      /^Failed: Timed out waiting to power OFF node node1 \(power_timeout 2s\): (VERIFY_FAILED|DEADLINE_EXCEEDED): /,
    )
    expect(sim('pdu').state('1')).toBe('on')
  })

  it('delay is honoured before off', async () => {
    const r = await agent({ action: 'off', plug: 'node1', delay: 1, verbose: 1 })
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/^Delay 1s before off of node1$/m)
    expect(r.ms).toBeGreaterThanOrEqual(1000)
  })

  it('the getopt form works the same', async () => {
    const r = await runAgent({
      argv: ['-o', 'status', '-n', 'node1', `--url=${g.url}`, '--token-file', g.tokenFile.pacemaker!],
    })
    expect(r).toMatchObject({ code: 0, stdout: 'Status: ON\n' })
  })

  it('debug_file gets every request, never the token', async () => {
    const file = path.join(g.gw.dir, 'agent-debug.log')
    const r = await agent({ action: 'status', plug: 'node1', debug_file: file })
    expect(r).toMatchObject({ code: 0, stdout: 'Status: ON\n', stderr: '' })
    const log = readFileSync(file, 'utf8')
    expect(log).toMatch(/fence_fencegate\[\d+\] GET \/v1\/nodes\/node1 -> 200 in \d+ ms/)
    expect(log).toMatch(/stdout: Status: ON/)
    expect(log).not.toContain(readFileSync(g.tokenFile.pacemaker!, 'utf8').trim())
  })

  it('password_script gives the token', async () => {
    const r = await runAgent({
      stdin: { action: 'status', plug: 'node1', url: g.url, password_script: `cat ${g.tokenFile.pacemaker}` },
    })
    expect(r).toMatchObject({ code: 0, stdout: 'Status: ON\n' })
  })
})

describe('list, list-status, monitor', () => {
  it('list prints the nodes the token may fence, as plug,alias', async () => {
    expect((await agent({ action: 'list' })).stdout).toBe('node1,node1\nnode2,node2\nnode3,node3\n')
    expect((await agent({ action: 'list', separator: ';' }, 'only1')).stdout).toBe('node1;node1\n')
  })

  it('list with a token that may fence nothing: no node, a warning', async () => {
    const r = await agent({ action: 'list' }, 'ops')
    expect(r).toMatchObject({ code: 0, stdout: '' })
    expect(r.stderr).toMatch(/token 'ops' has role operator: it may fence no node/)
  })

  it('list-status reads the states now', async () => {
    sim('pdu').setPhysical('1', 'off')
    const r = await agent({ action: 'list-status' })
    expect(r).toMatchObject({ code: 0, stdout: 'node1,node1,OFF\nnode2,node2,ON\nnode3,node3,ON\n' })
  })

  it('monitor: exit 0 when every device behind the gateway answers', async () => {
    expect(await agent({ action: 'monitor' })).toMatchObject({ code: 0, stdout: '', stderr: '' })
  })

  it('monitor fails when a device behind the gateway drops requests, naming it', async () => {
    sim('pdu2').faults.add({ type: 'drop' })
    const r = await agent({ action: 'monitor' })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^device pdu2 \(dummy\) is failing: \w+: .*\(fences node3\)$/m)
    expect(r.stderr).toMatch(/^Failed: 1 of 2 devices behind the gateway are failing: pdu2$/m)
  })

  it('monitor fails when a device stalls; a token limited to healthy devices still passes', async () => {
    sim('pdu2').faults.add({ type: 'stall' })
    const r = await agent({ action: 'monitor' })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/device pdu2 .*failing/)
    expect(await agent({ action: 'monitor' }, 'only1')).toMatchObject({ code: 0 })
  })

  it('monitor with a token that may fence nothing fails', async () => {
    const r = await agent({ action: 'monitor' }, 'watcher')
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^Failed: the token may fence no node through the gateway/m)
  })
})

describe('refusals and bad input: clear, exit 1, nothing done', () => {
  it('an unknown node: names the known ones; nothing journaled', async () => {
    const r = await agent({ action: 'off', plug: 'node9' })
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(
      `Failed: plug 'node9' is not a node known to the gateway at ${g.url} (nodes this token may act on: node1, node2, node3); set plug (or pcmk_host_map) to the gateway's node name\n`,
    )
    expect(await g.gw.engine.history({ node: 'node9' })).toEqual([])
  })

  it('an outlet number as plug: refused before the gateway is asked', async () => {
    const before = sim('pdu').commands.length
    const r = await agent({ action: 'off', plug: '1' })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(
      /^Failed: plug is a node name known to the gateway \(e\.g\. node1\), not an outlet number/,
    )
    expect(sim('pdu').commands.length).toBe(before)
    expect(sim('pdu').state('1')).toBe('on')
  })

  it('a node outside the token allow-list: refused, outlet untouched', async () => {
    const r = await agent({ action: 'off', plug: 'node2' }, 'only1')
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^Failed: .*node2.*(403|may not)/)
    expect(sim('pdu').state('2')).toBe('on')
  })

  it('a viewer token cannot fence', async () => {
    const r = await agent({ action: 'off', plug: 'node1' }, 'watcher')
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^Failed: .*403 FORBIDDEN/)
    expect(sim('pdu').state('1')).toBe('on')
  })

  it('a wrong token: 401, said so', async () => {
    const bad = path.join(g.gw.dir, 'bad.token')
    writeFileSync(bad, 'not-a-token\n', { mode: 0o600 })
    chmodSync(bad, 0o600)
    const r = await runAgent({ stdin: { action: 'status', plug: 'node1', url: g.url, token_file: bad } })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^Failed: the gateway at .* refused the token \(401 UNAUTHORIZED/)
  })

  it('a token file others can read is refused', async () => {
    const open = path.join(g.gw.dir, 'open.token')
    writeFileSync(open, 'x\n')
    chmodSync(open, 0o644)
    const r = await runAgent({ stdin: { action: 'off', plug: 'node1', url: g.url, token_file: open } })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^Failed: token_file: .* is readable by group or others \(mode 644\)/)
    expect(sim('pdu').state('1')).toBe('on')
  })

  it('unknown options are warned about and ignored; the action still runs', async () => {
    const r = await agent({ action: 'status', plug: 'node1', ipaddr: '10.0.0.1', power_wait: 3 })
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/Ignoring unknown option 'ipaddr'/)
    expect(r.stderr).toMatch(/option 'power_wait' is accepted and ignored/)
  })
})

describe('several gateway URLs (replicas): failover', () => {
  it('url=A,B with A gone: the fence goes through B, the outlet really goes off', async () => {
    const dead = `http://127.0.0.1:${await closedPort()}`
    const r = await runAgent({
      stdin: { action: 'off', plug: 'node1', url: `${dead},${g.url}`, token_file: g.tokenFile.pacemaker! },
    })
    expect(r).toMatchObject({ code: 0, stdout: 'Success: Powered OFF\n', stderr: '' })
    expect(changes).toEqual([{ dev: 'pdu', plug: '1', state: 'off' }])
  })

  it('--url repeated (getopt form) is the same list', async () => {
    const dead = `http://127.0.0.1:${await closedPort()}`
    const r = await runAgent({
      argv: [
        '-o',
        'status',
        '-n',
        'node1',
        '--url',
        dead,
        '--url',
        g.url,
        '--token-file',
        g.tokenFile.pacemaker!,
      ],
    })
    expect(r).toMatchObject({ code: 0, stdout: 'Status: ON\n', stderr: '' })
  })

  it('a gateway that took the fence and died: B gets the same Idempotency-Key and body, one operation', async () => {
    // A answers the check before the fence, then takes the fence request and closes without answering
    let taken: { key: string; body: string } | undefined
    const a = createServer((req, res) => {
      let body = ''
      req.on('data', (c) => {
        body += c
      })
      req.on('end', () => {
        if (req.method === 'GET') {
          res.writeHead(200, { 'content-type': 'application/json' })
          res.end(JSON.stringify({ simulated: false, nodes: [{ name: 'node1' }] }))
          return
        }
        taken = { key: String(req.headers['idempotency-key']), body }
        req.socket.destroy()
      })
    })
    await new Promise<void>((r) => a.listen(0, '127.0.0.1', r))
    const aUrl = `http://127.0.0.1:${(a.address() as net.AddressInfo).port}`
    try {
      const r = await runAgent({
        stdin: { action: 'off', plug: 'node1', url: `${aUrl},${g.url}`, token_file: g.tokenFile.pacemaker! },
      })
      expect(r).toMatchObject({ code: 0, stdout: 'Success: Powered OFF\n', stderr: '' })
      expect(taken?.key).toMatch(/^fence_fencegate-\d+-[0-9a-z]+-[0-9a-z]+$/)
      expect(changes).toEqual([{ dev: 'pdu', plug: '1', state: 'off' }])
      // B knows that key with that body: the same request again is a replay of the operation it ran
      const replay = await fetch(`${g.url}/v1/nodes/node1/fence`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${readFileSync(g.tokenFile.pacemaker!, 'utf8').trim()}`,
          'content-type': 'application/json',
          'idempotency-key': taken!.key,
        },
        body: taken!.body,
      })
      expect(replay.status).toBe(200)
      expect(replay.headers.get('idempotent-replayed')).toBe('true')
      expect(changes).toHaveLength(1)
    } finally {
      await new Promise<void>((r) => a.close(() => r()))
    }
  })
})
