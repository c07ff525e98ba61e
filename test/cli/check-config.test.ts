import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { run, tempDir } from './helpers.js'

const tmp = tempDir()
afterAll(() => tmp.remove())

function file(name: string, text: string): string {
  const f = path.join(tmp.dir, name)
  writeFileSync(f, text)
  return f
}

const GOOD = `listen: 127.0.0.1:9443
journal: /tmp/never-opened.jsonl
auth:
  tokens:
    - { name: ops, role: operator, hash: "sha256:${'a'.repeat(64)}" }
devices:
  pdu1: { driver: dummy, host: 127.0.0.1, port: 17001 }
  pdu2: { driver: dummy, port: 17002 }
nodes:
  node1: { plugs: [ pdu1:1 ] }
  node2: { plugs: [ pdu1:2, pdu2:2 ] }
  node3: { levels: [ [ pdu1:3 ], [ pdu2:3 ] ], fenceAction: reboot }
`

describe('check-config', () => {
  it('a good file: exit 0 and a one-line summary', async () => {
    const f = file('good.yaml', GOOD)
    const r = await run(['check-config', f])
    expect(r.code).toBe(0)
    expect(r.out).toBe(`${f}: ok: 2 devices, 3 nodes (node[1-3]), 1 token, listen 127.0.0.1:9443\n`)
    expect(r.err).toBe('')
  })

  it('--json describes what the file configures', async () => {
    const r = await run(['check-config', file('good2.yaml', GOOD), '--json'])
    expect(r.code).toBe(0)
    const j = JSON.parse(r.out)
    expect(j.ok).toBe(true)
    expect(j.nodes).toEqual(['node1', 'node2', 'node3'])
    expect(j.devices).toEqual([
      { id: 'pdu1', driver: 'dummy' },
      { id: 'pdu2', driver: 'dummy' },
    ])
    expect(j.tokens).toEqual([{ name: 'ops', role: 'operator' }])
  })

  it('a file without tokens passes with a note', async () => {
    const f = file('notokens.yaml', GOOD.replace(/auth:\n.*\n.*\n/, ''))
    const r = await run(['check-config', f])
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/no tokens in auth.tokens/)
  })

  it('a misspelt field names the field meant: hots: -> host:', async () => {
    const f = file(
      'typo.yaml',
      `devices:
  pdu1: { driver: apc-snmp, hots: 10.0.0.5, community: private }
nodes:
  node1: { plugs: [ pdu1:1 ] }
`,
    )
    const r = await run(['check-config', f])
    expect(r.code).toBe(1)
    const lines = r.err.trimEnd().split('\n')
    expect(lines).toContain(`${f}:2: devices.pdu1.hots: unknown field (did you mean host?)`)
    // far from every known field: no guess
    const g = file('far.yaml', GOOD.replace('nodes:', 'colour: blue\nnodes:'))
    const far = await run(['check-config', g])
    expect(far.err).toMatch(/: colour: unknown field\n/)
  })

  it('every problem, each as FILE:LINE: field: expected …', async () => {
    const f = file(
      'bad.yaml',
      `listen: 127.0.0.1
devices:
  pdu1: { driver: dummy, port: seventeen }
  pdu2: { driver: apc-nonsense }
nodes:
  node1: { plugs: [ pdu9:1 ] }
  node2: { plugs: [ pdu1:2 ], powerwait: 2s }
engine:
  fenceHold: forever
`,
    )
    const r = await run(['check-config', f])
    expect(r.code).toBe(1)
    expect(r.out).toBe('')
    const lines = r.err.trimEnd().split('\n')
    expect(lines).toContain(`${f}:1: listen: expected HOST:PORT, got '127.0.0.1'`)
    expect(lines).toContain(`${f}:3: devices.pdu1.port: expected an integer, got 'seventeen'`)
    expect(lines.some((l) => l.startsWith(`${f}:4: devices.pdu2.driver: expected one of `))).toBe(true)
    expect(lines.some((l) => l.startsWith(`${f}:6: nodes.node1.plugs[0]: no device 'pdu9'`))).toBe(true)
    expect(lines).toContain(`${f}:7: nodes.node2.powerwait: unknown field (did you mean powerWait?)`)
    expect(lines.some((l) => l.startsWith(`${f}:9: engine.fenceHold: expected a duration`))).toBe(true)
  })

  it('a hostlist mistake in a token’s nodes names the character', async () => {
    const f = file('badhosts.yaml', GOOD.replace('role: operator,', 'role: operator, nodes: "node[1-",'))
    const r = await run(['check-config', f])
    expect(r.code).toBe(1)
    expect(r.err).toMatch(
      new RegExp(
        `^${f}:5: auth.tokens\\[0\\].nodes: hostlist 'node\\[1-': '\\[' without '\\]' at character 5$`,
        'm',
      ),
    )
  })

  it('the heartbeat section is checked too, with its lines', async () => {
    const f = file(
      'hb.yaml',
      `${GOOD}heartbeat:
  node: node1
  nodes: [ node1, node2 ]
  keepalive: 1s
  deadtime: 1s
  links: []
  authKeyFile: /etc/fencegate/authkeys
`,
    )
    const r = await run(['check-config', f])
    expect(r.code).toBe(1)
    expect(r.err).toMatch(new RegExp(`^${f}:17: heartbeat.deadtime: must exceed twice the keepalive`, 'm'))
  })

  it('YAML syntax errors give the line', async () => {
    const f = file('syntax.yaml', 'devices:\n  pdu1: { driver: dummy\nnodes: {}\n')
    const r = await run(['check-config', f])
    expect(r.code).toBe(1)
    expect(r.err).toMatch(new RegExp(`^${f}:\\d+: YAML syntax: `))
  })

  it('a file that cannot be read', async () => {
    const r = await run(['check-config', path.join(tmp.dir, 'missing.yaml')])
    expect(r.code).toBe(1)
    expect(r.err).toMatch(/missing.yaml: cannot read: ENOENT/)
  })

  it('--json on a bad file: ok false and the problems, exit 1', async () => {
    const f = file('bad2.yaml', 'devices: {}\nnodes: { n1: {} }\n')
    const r = await run(['check-config', f, '--json'])
    expect(r.code).toBe(1)
    const j = JSON.parse(r.out)
    expect(j.ok).toBe(false)
    expect(j.problems).toEqual([
      `${f}:2: nodes.n1: required: plugs: [DEVICE:PLUG, ...] or levels: [[...], ...]`,
    ])
  })
})
