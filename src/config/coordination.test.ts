import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { FenceError } from '../../core/errors.js'
import { loadConfig } from './config.js'

const dir = mkdtempSync(path.join(tmpdir(), 'fencegate-coord-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function file(name: string, text: string, mode = 0o600): string {
  const p = path.join(dir, name)
  writeFileSync(p, text)
  chmodSync(p, mode)
  return p
}
const base = `
listen: 127.0.0.1:9443
journal: ${dir}/j.jsonl
devices: { sw: { driver: dummy, port: 17001 } }
nodes: { node1: { plugs: [ sw:1 ] } }
`
function problems(coordination: string): string {
  try {
    loadConfig(file('c.yaml', base + coordination))
  } catch (e) {
    return (e as FenceError).message
  }
  return ''
}

describe('config: coordination', () => {
  it('absent: one gateway (no coordination in the config)', () => {
    expect(loadConfig(file('one.yaml', base)).coordination).toBeUndefined()
  })

  it('etcd turns on replica mode, with defaults', () => {
    const c = loadConfig(
      file(
        'r.yaml',
        `${base}coordination: { replica: r1, etcd: { endpoints: [ http://10.0.0.1:2379, http://10.0.0.2:2379 ] } }\n`,
      ),
    )
    expect(c.coordination).toEqual({
      replica: 'r1',
      etcd: {
        endpoints: ['http://10.0.0.1:2379', 'http://10.0.0.2:2379'],
        prefix: '/fencegate',
        leaseTtlMs: 2000,
      },
    })
  })

  it('every mistake is reported with its field and line', () => {
    const msg = problems(`coordination:
  etcd:
    endpoints: [ 10.0.0.1:2379 ]
    leaseTtl: 1500ms
    prefix: fencegate
    lease: 2s
`)
    expect(msg).toMatch(/c\.yaml:\d+: coordination\.etcd\.endpoints\[0\]: expected http:\/\/HOST:PORT/)
    expect(msg).toMatch(/coordination\.etcd\.leaseTtl: expected a duration from 2s/)
    expect(msg).toMatch(/coordination\.etcd\.prefix: expected a key prefix/)
    expect(msg).toMatch(/coordination\.etcd\.lease: unknown field/)
    expect(problems('coordination: { etcd: { endpoints: [] } }\n')).toMatch(/endpoints: required/)
    expect(problems('coordination: { etcd: { endpoints: [http://a:1], leaseTtl: 2500ms } }\n')).toMatch(
      /whole seconds/,
    )
    expect(problems('coordination: { replica: r1 }\n')).toMatch(/coordination\.etcd: required/)
  })

  it('tls: https endpoints need a CA; the client key is checked like every secret', () => {
    expect(problems('coordination: { etcd: { endpoints: [https://a:2379] } }\n')).toMatch(/need tls/)
    const ca = file('ca.pem', 'x', 0o644)
    const cert = file('cert.pem', 'x', 0o644)
    const loose = file('loose.pem', 'x', 0o644)
    expect(
      problems(
        `coordination: { etcd: { endpoints: [https://a:2379], tls: { ca: ${ca}, cert: ${cert}, key: ${loose} } } }\n`,
      ),
    ).toMatch(/coordination\.etcd\.tls\.key: .*readable by group or others/)
    const key = file('key.pem', 'x', 0o600)
    const c = loadConfig(
      file(
        't.yaml',
        `${base}coordination: { etcd: { endpoints: [https://a:2379], tls: { ca: ${ca}, cert: ${cert}, key: ${key} } } }\n`,
      ),
    )
    expect(c.coordination?.etcd.tls).toEqual({ caFile: ca, certFile: cert, keyFile: key })
    expect(
      problems(
        `coordination: { etcd: { endpoints: [https://a:2379], tls: { ca: ${ca}, cert: ${cert} } } }\n`,
      ),
    ).toMatch(/needs both cert and key/)
  })
})
