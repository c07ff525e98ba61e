import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { FenceError } from '../../core/errors.js'
import { hashToken } from '../api/auth.js'
import { loadConfig } from './config.js'
import { Fields } from '../../core/fields.js'
import { checkSecretFile, readSecret } from './secrets.js'

const dir = mkdtempSync(path.join(tmpdir(), 'fencegate-config-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
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

  it('bounds every duration: above what a Node timer can wait (2^31-1 ms) is refused, naming the maximum', () => {
    // setTimeout(fn, 2 ** 31) fires at once: a 600h fenceHold would have held nothing
    const p = file('long.yaml', good.replace('fenceHold: 30s', 'fenceHold: 600h'))
    const e = errorOf(() => loadConfig(p))
    expect(e.code).toBe('CONFIG_INVALID')
    expect(e.message.split('\n')).toContainEqual(
      `${p}:7: engine.fenceHold: expected a duration from 0ms to 24h, got '600h'`,
    )
    // a field without its own maximum still has the timer's
    const f = new Fields({ wait: '600h', bare: 3e6, huge: '9'.repeat(400) }, ['x'])
    f.duration('wait', 0)
    f.duration('bare', 0)
    f.duration('huge', 0)
    const most =
      'expected a duration from 0ms to 2147483647ms (about 24.8 days, the longest a timer can wait)'
    expect(f.problems.map((q) => q.message)).toEqual([
      `${most}, got '600h'`,
      `${most}, got 3000000`,
      `${most}, got '${'9'.repeat(400)}'`,
    ])
  })

  it.each([
    ['defaultTimeout', '2h', '100ms to 1h'],
    ['defaultTimeout', '50ms', '100ms to 1h'],
    ['fenceHold', '25h', '0ms to 24h'],
    ['powerWait', '11m', '0ms to 10m'],
    ['probeInterval', '25h', '0ms (off), or 10ms to 24h'],
    ['probeInterval', '5ms', '0ms (off), or 10ms to 24h'],
    ['probeTimeout', '11m', '10ms to 10m'],
    ['onStagger', '2m', '0ms to 1m'],
    ['verifyPoll', '2s', '1ms to 1s'],
  ])('engine.%s: %s is refused (%s)', (field, value, range) => {
    const p = file(
      `engine-${field}.yaml`,
      good.replace('fenceHold: 30s, powerWait: 500ms', `${field}: ${value}`),
    )
    const e = errorOf(() => loadConfig(p))
    expect(e.message).toContain(`${p}:7: engine.${field}: expected a duration from ${range}, got '${value}'`)
  })

  it('engine.retries and a node powerWait have ranges too', () => {
    const p = file(
      'retries.yaml',
      good.replace('fenceHold: 30s', 'retries: 11').replace('powerWait: 2s', 'powerWait: 1h'),
    )
    const lines = errorOf(() => loadConfig(p)).message.split('\n')
    expect(lines).toContainEqual(`${p}:7: engine.retries: expected an integer from 0 to 10, got 11`)
    expect(lines).toContainEqual(
      `${p}:14: nodes.node3.powerWait: expected a duration from 0ms to 10m, got '1h'`,
    )
  })

  it('journal.maxBytes: a positive, bounded size (0 was accepted and rotated on every record)', () => {
    const withJournal = (v: string) =>
      good.replace(`journal: ${dir}/j.jsonl`, `journal: { path: ${dir}/j.jsonl, maxBytes: ${v} }`)
    for (const v of ['0', '1KiB', '17GiB', '99999999999999999999999GiB']) {
      const p = file('journal-size.yaml', withJournal(v))
      expect(errorOf(() => loadConfig(p)).message).toContain(
        `${p}:3: journal.maxBytes: expected a size from 64KiB to 16GiB, got '${v}'`,
      )
    }
    expect(loadConfig(file('journal-ok.yaml', withJournal('1MiB'))).journal.maxBytes).toBe(1024 ** 2)
  })

  it('integers past the safe range are refused, not rounded', () => {
    const f = new Fields({ n: 1e30 }, ['x'])
    f.int('n')
    expect(f.problems.map((q) => q.message)).toEqual(['expected an integer, got 1e+30'])
  })

  it('plain HTTP on an address other than loopback is refused unless allowPlainHttp: true (or tls) is written', () => {
    const open = good.replace('listen: 127.0.0.1:9443', 'listen: 0.0.0.0:9443')
    const p = file('open.yaml', open)
    expect(errorOf(() => loadConfig(p)).message.split('\n')).toContainEqual(
      `${p}:2: listen: plain HTTP on 0.0.0.0, an address other than loopback: tokens would cross the network in clear. Give tls: {cert, key}, or write allowPlainHttp: true to accept that`,
    )
    for (const host of ['10.0.0.1', '[::]', 'gw.example.org'])
      expect(() => loadConfig(file('open2.yaml', good.replace('127.0.0.1:9443', `"${host}:9443"`)))).toThrow(
        /plain HTTP on/,
      )
    const allowed = loadConfig(file('allowed.yaml', `${open}allowPlainHttp: true\n`))
    expect(allowed.allowPlainHttp).toBe(true)
    const tls = loadConfig(file('tls.yaml', `${open}tls: { cert: /c.pem, key: /k.pem }\n`))
    expect(tls.tls).toEqual({ certFile: '/c.pem', keyFile: '/k.pem' })
    for (const host of ['127.0.0.2', '[::1]', 'localhost'])
      expect(
        loadConfig(file('lo.yaml', good.replace('127.0.0.1:9443', `"${host}:9443"`))).allowPlainHttp,
      ).toBe(false)
    expect(() => loadConfig(file('yes.yaml', `${open}allowPlainHttp: yes please\n`))).toThrow(
      /allowPlainHttp: expected true or false/,
    )
  })

  it('secret files: refused when another user owns them or group/others may read them', () => {
    const e = errorOf(() => checkSecretFile(file('tls-loose.key', 'KEY', 0o640), 'tls.key'))
    expect(e.code).toBe('SECRET_UNSAFE')
    expect(e.message).toMatch(
      /^tls\.key: .*tls-loose\.key is readable by group or others \(mode 640\); chmod 600 it$/,
    )
    expect(() => checkSecretFile(file('tls-tight.key', 'KEY', 0o600), 'tls.key')).not.toThrow()
    // a key another user can rewrite is not ours: as root, give it away; otherwise pretend to be another uid
    const uid = process.getuid?.() ?? 0
    const theirs = file('tls-other.key', 'KEY', 0o600)
    if (uid === 0) chownSync(theirs, 4242, 4242)
    const owner = uid === 0 ? 4242 : uid
    const self = uid === 0 ? 0 : uid + 4242
    expect(errorOf(() => checkSecretFile(theirs, 'tls.key', self)).message).toBe(
      `tls.key: ${theirs} is owned by uid ${owner}, not by this process's user (${self}) or root; chown it`,
    )
  })
})
