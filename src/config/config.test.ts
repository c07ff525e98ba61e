import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import type { FenceError } from '../core/errors.js'
import { hashToken, loadConfig } from './config.js'
import { Fields } from './fields.js'
import { readSecret } from './secrets.js'

const dir = mkdtempSync(path.join(tmpdir(), 'fencegate-config-'))
function file(name: string, text: string, mode = 0o644): string {
  const p = path.join(dir, name)
  writeFileSync(p, text)
  chmodSync(p, mode)
  return p
}
function errorOf(f: () => unknown): FenceError {
  try {
    f()
  } catch (e) {
    return e as FenceError
  }
  throw new Error('expected an error')
}

const good = `
listen: 127.0.0.1:9443
journal: ${dir}/j.jsonl
auth:
  tokens:
    - { name: pacemaker, hash: "sha256:${hashToken('t0k3n').toString('hex')}", role: fencer, nodes: "node[1-2]" }
engine: { fenceHold: 30s, powerWait: 500ms }
devices:
  sw: { driver: dummy, port: 17001 }
  bmc: { driver: dummy, port: 17002 }
nodes:
  node1: { plugs: [ sw:1 ] }
  node2: { plugs: [ sw:2, sw:3 ], fenceAction: reboot }
  node3: { levels: [ [ bmc:1 ], [ sw:4, sw:5 ] ], powerWait: 2s }
`

describe('config', () => {
  it('reads a good file into typed values', () => {
    const c = loadConfig(file('good.yaml', good))
    expect(c.listen).toEqual({ host: '127.0.0.1', port: 9443 })
    expect(c.engine.fenceHoldMs).toBe(30_000)
    expect(c.engine.powerWaitMs).toBe(500)
    expect(c.tokens[0]).toMatchObject({ name: 'pacemaker', role: 'fencer', nodes: ['node1', 'node2'] })
    expect(c.nodes.get('node2')).toMatchObject({
      fenceAction: 'reboot',
      levels: [
        [
          { device: 'sw', plug: '2' },
          { device: 'sw', plug: '3' },
        ],
      ],
    })
    expect(c.nodes.get('node3')!.levels).toHaveLength(2)
    expect(c.nodes.get('node3')!.powerWaitMs).toBe(2000)
  })

  it('names file, line and field of every problem, and what was expected', () => {
    const bad = good
      .replace('port: 17002', 'port: seventeen')
      .replace('powerWait: 2s', 'powerWait: soon')
      .replace('sw:4, sw:5', 'sw:4, nope:5')
      .replace('role: fencer', 'role: admin')
    const p = file('bad.yaml', bad)
    const e = errorOf(() => loadConfig(p))
    expect(e.code).toBe('CONFIG_INVALID')
    const lines = e.message.split('\n')
    expect(lines).toContainEqual(`${p}:10: devices.bmc.port: expected an integer, got 'seventeen'`)
    expect(lines).toContainEqual(
      `${p}:14: nodes.node3.powerWait: expected a duration like 200ms or 5s, got 'soon'`,
    )
    expect(lines.some((l) => l.startsWith(`${p}:14: nodes.node3.levels[1][1]: no device 'nope'`))).toBe(true)
    expect(
      lines.some((l) =>
        l.startsWith(`${p}:6: auth.tokens[0].role: expected one of viewer, operator, fencer`),
      ),
    ).toBe(true)
  })

  it('reports unknown fields (typos) and YAML syntax errors with their line', () => {
    const e1 = errorOf(() => loadConfig(file('typo.yaml', good.replace('port: 17001', 'prot: 17001'))))
    expect(e1.message).toMatch(/:9: devices\.sw\.prot: unknown field/)
    const e2 = errorOf(() => loadConfig(file('syntax.yaml', 'devices:\n  sw: { driver: dummy\nnodes: {}\n')))
    expect(e2.message).toMatch(/syntax\.yaml:\d+: YAML syntax/)
  })

  it('refuses a plug shared by two nodes and a multi-plug device named without a plug', () => {
    const e = errorOf(() =>
      loadConfig(
        file(
          'shared.yaml',
          good.replace('plugs: [ sw:1 ]', 'plugs: [ sw:2 ]').replace('[ bmc:1 ]', '[ bmc ]'),
        ),
      ),
    )
    expect(e.message).toMatch(/plug sw:2 is also a plug of node node1|plug sw:2 is also a plug of node node2/)
    expect(e.message).toMatch(/device 'bmc' has several plugs: write bmc:PLUG/)
  })

  it('secrets: refuses a plain value in the config, a group-readable file; reads a 0600 file and env', () => {
    const f = new Fields({ password: 'hunter2' }, ['devices', 'bmc'])
    expect(f.secret('password', { required: true })).toBeUndefined()
    expect(f.problems[0]!.message).toMatch(
      /secrets are not written in the config: use passwordFile: PATH or passwordEnv: VARIABLE/,
    )
    expect(JSON.stringify(f.problems)).not.toContain('hunter2')
    const loose = file('loose.key', 's3cret\n', 0o640)
    const e2 = errorOf(() => readSecret({ file: loose }, 'devices.x.passwordFile'))
    expect(e2.code).toBe('SECRET_UNSAFE')
    expect(e2.message).not.toContain('s3cret')
    expect(readSecret({ file: file('tight.key', 's3cret\n', 0o600) }, 'f')).toBe('s3cret')
    process.env.FG_TEST_SECRET = 'fromenv'
    expect(readSecret({ env: 'FG_TEST_SECRET' }, 'f')).toBe('fromenv')
    expect(errorOf(() => readSecret({ env: 'FG_TEST_NOT_SET' }, 'f')).message).toMatch(
      /FG_TEST_NOT_SET is not set/,
    )
  })
})
