import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AgentGateway, buildAgent, runAgent, startAgentGateway } from './harness.js'

/** A gateway on HTTPS (config tls: {cert, key}) with a self-signed certificate. */
let dir: string
let cert: string
let g: AgentGateway

beforeAll(async () => {
  buildAgent()
  dir = mkdtempSync(path.join(tmpdir(), 'fgag-tls-'))
  cert = path.join(dir, 'cert.pem')
  const key = path.join(dir, 'key.pem')
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2']
      .concat(['-subj', '/CN=fencegate-test', '-addext', 'subjectAltName=IP:127.0.0.1'])
      .concat(['-keyout', key, '-out', cert]),
    { stdio: 'pipe' },
  )
  g = await startAgentGateway({
    tls: { cert, key },
    devices: { pdu: { kind: 'dummy', plugs: 2 } },
    nodes: { node1: { plugs: ['pdu:1'] } },
    tokens: [{ name: 'pacemaker', role: 'fencer' }],
  })
}, 120_000)
afterAll(async () => {
  await g?.stop()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

const agent = (opts: Record<string, string | number>) =>
  runAgent({
    stdin: { action: 'off', plug: 'node1', url: g.url, token_file: g.tokenFile.pacemaker!, ...opts },
  })

describe('a gateway on HTTPS', () => {
  it('is reached with ca_file', async () => {
    expect(g.url).toMatch(/^https:/)
    expect(await agent({ ca_file: cert })).toMatchObject({ code: 0, stdout: 'Success: Powered OFF\n' })
    expect(g.gw.lab.device('pdu')!.sim.state('1')).toBe('off')
  })

  it('an unknown certificate is refused, naming the two ways out, and nothing is switched', async () => {
    g.gw.lab.device('pdu')!.sim.setPhysical('1', 'on')
    const r = await agent({})
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(
      /^Failed: cannot verify the TLS certificate of the gateway at https:\/\/127\.0\.0\.1:\d+: .*set ca_file, or ssl_insecure=1\n$/,
    )
    expect(g.gw.lab.device('pdu')!.sim.state('1')).toBe('on')
  })

  it('ssl_insecure=1 skips the check', async () => {
    expect(await agent({ action: 'status', ssl_insecure: 1 })).toMatchObject({
      code: 0,
      stdout: 'Status: ON\n',
    })
  })

  it('an unreadable ca_file is a clear failure', async () => {
    const r = await agent({ ca_file: path.join(dir, 'missing.pem') })
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(`Failed: ca_file: cannot read ${path.join(dir, 'missing.pem')}: ENOENT\n`)
  })
})
