import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PhysicalState } from '../../firmware-mocks/simulator.js'
import { type AgentGateway, ROOT, startAgentGateway } from '../agent/harness.js'
import { Cluster, NODE_NAME, ip } from './cluster.js'

/**
 * The real thing: Pacemaker's pacemaker-fenced (a one-node corosync + pacemaker cluster in
 * private namespaces) fences a node through fence_fencegate, the gateway and a mock PDU.
 * The cluster reaches the gateway over a veth pair (host 10.254.78.1, cluster 10.254.78.2),
 * so "the gateway is down" is exactly that: nothing listens at its address any more.
 */
const HOST_IF = `fgagh${process.pid % 100_000}`
const HOST_IP = '10.254.78.1'
const NS_IP = '10.254.78.2'

let dir: string
let g: AgentGateway | undefined
let cluster: Cluster | undefined
const changes: { plug: string; state: PhysicalState }[] = []
const outlet = (plug: string) => g!.gw.lab.device('pdu')!.sim.state(plug)

beforeAll(async () => {
  // the fencer finds agents as fence_* in /usr/sbin: install it there, as a user would
  execFileSync('sh', [path.join(ROOT, 'scripts/install-agent.sh')], { stdio: 'pipe' })
  dir = mkdtempSync(path.join(tmpdir(), 'fgag-pcmk-'))
  cluster = await Cluster.start(dir, async (pid) => {
    ip('link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', 'fgagc0', 'netns', String(pid))
    ip('addr', 'add', `${HOST_IP}/30`, 'dev', HOST_IF)
    ip('link', 'set', HOST_IF, 'up')
    execFileSync('nsenter', ['-t', String(pid), '-n', 'ip', 'addr', 'add', `${NS_IP}/30`, 'dev', 'fgagc0'])
    execFileSync('nsenter', ['-t', String(pid), '-n', 'ip', 'link', 'set', 'fgagc0', 'up'])
    g = await startAgentGateway({
      listen: { host: HOST_IP, port: 0 },
      allowPlainHttp: true, // a veth pair private to the test
      devices: { pdu: { kind: 'dummy', plugs: 4 } },
      // the node as the gateway names it; Pacemaker's name for it is mapped by pcmk_host_map
      nodes: { 'rack1-victim': { plugs: ['pdu:1', 'pdu:2'] } },
      engine: { powerWait: '200ms' },
      tokens: [{ name: 'pacemaker', role: 'fencer' }],
    })
    g.gw.lab.device('pdu')!.sim.on('change', (plug, state) => changes.push({ plug, state }))
    return `
      <primitive id="fg" class="stonith" type="fence_fencegate">
        <instance_attributes id="fg-ia">
          <nvpair id="fg-url" name="url" value="${g.url}"/>
          <nvpair id="fg-token" name="token_file" value="${g.tokenFile.pacemaker}"/>
          <nvpair id="fg-map" name="pcmk_host_map" value="victim:rack1-victim"/>
          <nvpair id="fg-pt" name="power_timeout" value="20"/>
        </instance_attributes>
        <operations><op id="fg-monitor" name="monitor" interval="3600s"/></operations>
      </primitive>`
  })
  // the device starts when its monitor (through the agent, the gateway, the PDU) succeeds
  await cluster.waitFor('fence device fg to start', async () => {
    const r = await cluster!.exec(['crm_mon', '-1', '--output-as=xml'])
    return /<resource id="fg" resource_agent="stonith:fence_fencegate" role="Started"/.test(r.stdout)
  })
}, 240_000)

afterAll(async () => {
  await cluster?.stop()
  await g?.stop()
  try {
    ip('link', 'del', HOST_IF)
  } catch {} // gone with the namespace
  if (dir) rmSync(dir, { recursive: true, force: true })
}, 60_000)

const admin = (...args: string[]) => cluster!.exec(['stonith_admin', ...args])

describe('pacemaker-fenced fences through fence_fencegate', () => {
  it('stonith_admin --reboot: both outlets of the node went off, then on', async () => {
    changes.length = 0
    const r = await admin('--reboot', 'victim', '--timeout', '60')
    expect(r.code, r.stderr + cluster!.logTail()).toBe(0)
    const offs = changes.filter((c) => c.state === 'off').map((c) => c.plug)
    expect(offs.sort()).toEqual(['1', '2'])
    const lastOff = changes.findLastIndex((c) => c.state === 'off')
    expect(changes.findIndex((c) => c.state === 'on')).toBeGreaterThan(lastOff)
    expect([outlet('1'), outlet('2')]).toEqual(['on', 'on'])
  })

  it('stonith_admin --fence: the outlets are off and stay off', async () => {
    changes.length = 0
    const r = await admin('--fence', 'victim', '--timeout', '60')
    expect(r.code, r.stderr + cluster!.logTail()).toBe(0)
    expect([outlet('1'), outlet('2')]).toEqual(['off', 'off'])
    expect(changes.map((c) => c.state)).toEqual(['off', 'off'])
  })

  it('stonith_admin --history shows both fences done by our node', async () => {
    const r = await admin('--history', 'victim', '--verbose')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(new RegExp(`reboot of victim successful: delegate=${NODE_NAME}`))
    expect(r.stdout).toMatch(new RegExp(`turning off of victim successful: delegate=${NODE_NAME}`))
  })

  it('with the gateway stopped, the fence fails fast and the log says why', async () => {
    const url = g!.url
    for (const p of ['1', '2']) g!.gw.lab.device('pdu')!.sim.setPhysical(p, 'on')
    await g!.server.close()
    const r = await admin('--fence', 'victim', '--timeout', '60')
    expect(r.stderr).toMatch(/Couldn't fence victim/)
    expect(r.code).not.toBe(0)
    // Pacemaker tries the device again (pcmk_off_retries) and gives up: far from its 60 s
    expect(r.ms).toBeLessThan(60_000)
    const history = await admin('--history', 'victim', '--verbose')
    expect(history.stdout).toMatch(new RegExp(`turning off of victim failed: delegate=${NODE_NAME}`))
    const log = readFileSync(path.join(dir, 'pacemaker.log'), 'utf8')
    expect(log).toContain(
      `Failed: cannot reach the gateway at ${url}: connection refused (is fencegate running?)`,
    )
    // and nothing was switched: the outlets are as the gateway left them
    expect([outlet('1'), outlet('2')]).toEqual(['on', 'on'])
  })
})
