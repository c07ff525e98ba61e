import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AgentGateway, buildAgent, runAgent, startAgentGateway } from './harness.js'

/**
 * A gateway that answers as simulated (the demo: mock devices) fences nothing real. Pacemaker
 * must never take its "off" for a fenced node, so the agent refuses it unless told otherwise.
 */
let g: AgentGateway

beforeAll(async () => {
  buildAgent()
  g = await startAgentGateway({
    simulated: true,
    devices: { pdu: { kind: 'dummy', plugs: 2 } },
    nodes: { 'demo-1': { plugs: ['pdu:1'] } },
    tokens: [{ name: 'pacemaker', role: 'fencer' }],
  })
}, 120_000)
afterAll(async () => {
  await g?.stop()
})

const agent = (opts: Record<string, string | number>) =>
  runAgent({ stdin: { url: g.url, token_file: g.tokenFile.pacemaker!, ...opts } })

describe('a simulated gateway', () => {
  it('is refused for every action that uses it, before anything is switched', async () => {
    for (const action of ['off', 'reboot', 'on', 'status', 'list', 'list-status', 'monitor']) {
      const r = await agent({ action, plug: 'demo-1' })
      expect(r.code, action).toBe(1)
      expect(r.stdout).toBe('')
      expect(r.stderr).toBe(
        `Failed: the gateway at ${g.url} answers as simulated (its devices are mocks: \`fencegate serve --demo\`), so fencing through it would fence nothing real; set allow_simulated=1 (--allow-simulated on the command line) only for demos and tests\n`,
      )
    }
    expect(g.gw.lab.device('pdu')!.sim.commands).toEqual([])
    expect(await g.gw.engine.history({})).toEqual([])
  })

  it('is used with allow_simulated=1', async () => {
    const r = await agent({ action: 'off', plug: 'demo-1', allow_simulated: 1 })
    expect(r).toMatchObject({ code: 0, stdout: 'Success: Powered OFF\n' })
    expect(g.gw.lab.device('pdu')!.sim.state('1')).toBe('off')
  })
})
