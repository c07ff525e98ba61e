import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import type { FastifyBaseLogger } from 'fastify'
import pino from 'pino'
import { afterEach, expect, it, onTestFinished } from 'vitest'
import { selfSigned } from '../../firmware-mocks/self-signed.js'
import { type RunningServer, startServer } from '../../src/api/server.js'
import type { Operation } from '../../src/engine/types.js'
import type { TestGateway } from '../helpers/gateway.js'
import { startTestGateway } from '../helpers/gateway.js'
import { TOKENS, bearer } from './helpers.js'
import { hashToken } from '../../src/api/auth.js'

let gw: TestGateway | undefined
let server: RunningServer | undefined
afterEach(async () => {
  await server?.close()
  await gw?.stop()
  server = gw = undefined
})

const auth = {
  tokens: [{ name: 'op', role: 'fencer', hash: `sha256:${hashToken(TOKENS.fencer).toString('hex')}` }],
}

function call(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: unknown; ca?: Buffer } = {},
): Promise<{ status: number; body: string; socket: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url)
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body)
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(
      u,
      {
        method: opts.method ?? 'GET',
        headers: { ...opts.headers, ...(payload ? { 'content-type': 'application/json' } : {}) },
        ...(opts.ca ? { ca: opts.ca } : {}),
      },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (c) => (body += c))
        res.on('end', () =>
          resolve({ status: res.statusCode!, body, socket: req.socket?.remoteAddress ?? '' }),
        )
      },
    )
    req.on('error', reject)
    req.end(payload)
  })
}

it('listens on 127.0.0.1 by default and serves the API over real HTTP', async () => {
  gw = await startTestGateway({
    devices: { pdu: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 2 } },
    nodes: { n1: { plugs: ['pdu:1'] } },
    extra: { auth },
  })
  expect(gw.config.listen).toEqual({ host: '127.0.0.1', port: 8443 })
  server = await startServer({ config: gw.config, engine: gw.engine, listen: { port: 0 } })
  const addr = server.app.server.address()
  expect(typeof addr === 'object' && addr?.address).toBe('127.0.0.1')
  expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
  const h = await call(`${server.url}/healthz`)
  expect(h).toMatchObject({ status: 200, socket: '127.0.0.1' })
  const off = await call(`${server.url}/v1/nodes/n1/power`, {
    method: 'POST',
    headers: bearer('fencer'),
    body: { action: 'off' },
  })
  expect(off.status).toBe(200)
  expect(JSON.parse(off.body).operation.status).toBe('succeeded')
  expect(gw.lab.device('pdu')!.sim.state('1')).toBe('off')
})

it('builds its own engine from the config when none is given, and closes it', async () => {
  gw = await startTestGateway({
    devices: { pdu: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 2 } },
    nodes: { n1: { plugs: ['pdu:1'] } },
    extra: { auth },
  })
  await gw.engine.close() // frees the journal for the server's engine
  server = await startServer({ config: gw.config, listen: { port: 0 } })
  expect(server.engine).not.toBe(gw.engine)
  const r = await call(`${server.url}/v1/nodes/n1`, { headers: bearer('fencer') })
  expect(JSON.parse(r.body).node.state).toBe('on')
  await server.close()
  await expect(
    server.engine.power('n1', 'off', { initiator: { name: 't', role: 'fencer', via: 'test' } }),
  ).rejects.toMatchObject({
    code: 'ENGINE_CLOSED',
  })
})

it('serves TLS from the cert and key files of the config', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'fencegate-tls-'))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  const cert = path.join(dir, 'cert.pem')
  const key = path.join(dir, 'key.pem')
  const made = await selfSigned('fencegate test')
  writeFileSync(cert, made.cert)
  writeFileSync(key, made.key, { mode: 0o600 })
  gw = await startTestGateway({
    devices: { pdu: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 2 } },
    nodes: { n1: { plugs: ['pdu:1'] } },
    extra: { auth, tls: { cert, key } },
  })
  server = await startServer({ config: gw.config, engine: gw.engine, listen: { port: 0 } })
  expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
  const ca = readFileSync(cert)
  const r = await call(`${server.url}/v1/whoami`, { headers: bearer('fencer'), ca })
  expect(r.status).toBe(200)
  expect(JSON.parse(r.body)).toMatchObject({ name: 'op', role: 'fencer' })
  // a client that does not trust the certificate is refused by TLS itself
  await expect(call(`${server.url}/healthz`)).rejects.toThrow(/self.signed|certificate/i)
  // and plain HTTP on the TLS port gets no API answer
  const plain = await call(server.url.replace('https:', 'http:') + '/healthz').catch(() => ({ status: 0 }))
  expect(plain.status).not.toBe(200)
  rmSync(dir, { recursive: true, force: true })
})

it('a waiting caller that goes away stops the operation (no further mutating step)', async () => {
  gw = await startTestGateway({
    devices: { pdu: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 2, transitionDelay: '3s' } },
    nodes: { n1: { plugs: ['pdu:1'] } },
    extra: { auth },
  })
  server = await startServer({ config: gw.config, engine: gw.engine, listen: { port: 0 } })
  const finished = new Promise<Operation>((resolve) => gw!.engine.onOperation(resolve))
  const u = new URL(`${server.url}/v1/nodes/n1/power`)
  const req = httpRequest(u, {
    method: 'POST',
    headers: { ...bearer('fencer'), 'content-type': 'application/json' },
  })
  req.on('error', () => {})
  req.end(JSON.stringify({ action: 'reboot', timeout: 15 }))
  // wait until the off was issued, then hang up
  for (let i = 0; i < 100 && gw.lab.device('pdu')!.sim.commands.length === 0; i++)
    await new Promise((r) => setTimeout(r, 20))
  req.destroy()
  const op = await finished
  expect(op.status).toBe('failed')
  // the engine reports the unfinished read-back (VERIFY_FAILED), with the reason
  expect(op.results[0]!.error!.message).toMatch(/the HTTP client went away/)
  expect(op.results[0]!.state).not.toBe('off')
  // the off was issued; the on of the reboot never was
  expect(gw.lab.device('pdu')!.sim.commands.map((c) => c.action)).toEqual(['off'])
})

it('refuses plain HTTP on an address other than loopback (--listen too) unless allowPlainHttp, then warns', async () => {
  gw = await startTestGateway({
    devices: { pdu: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 2 } },
    nodes: { n1: { plugs: ['pdu:1'] } },
    extra: { auth },
  })
  // the config says loopback; serve --listen 0.0.0.0:PORT overrides it
  await expect(
    startServer({ config: gw.config, engine: gw.engine, listen: { host: '0.0.0.0', port: 0 } }),
  ).rejects.toMatchObject({
    code: 'CONFIG_INVALID',
    message:
      'listen: plain HTTP on 0.0.0.0, an address other than loopback: tokens would cross the network in clear. Give tls: {cert, key}, or write allowPlainHttp: true to accept that',
  })
  const lines: string[] = []
  const log = pino({ level: 'warn' }, new Writable({ write: (c, _e, cb) => cb(void lines.push(String(c))) }))
  server = await startServer({
    config: { ...gw.config, allowPlainHttp: true },
    engine: gw.engine,
    listen: { host: '0.0.0.0', port: 0 },
    log: log as unknown as FastifyBaseLogger,
  })
  expect((await call(`${server.url}/healthz`)).status).toBe(200)
  expect(lines.map((l) => JSON.parse(l))).toContainEqual(
    expect.objectContaining({
      level: 40,
      msg: 'plain HTTP on 0.0.0.0 (allowPlainHttp: true): tokens cross the network in clear; use tls',
    }),
  )
})

it('refuses a TLS key file that group or others can read, as it refuses any secret', async () => {
  const { mkdtempSync, chmodSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const dir = mkdtempSync(path.join(tmpdir(), 'fencegate-tls-'))
  const cert = path.join(dir, 'cert.pem')
  const key = path.join(dir, 'key.pem')
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'].concat([
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
    ]),
    { stdio: 'ignore' },
  )
  chmodSync(key, 0o644)
  gw = await startTestGateway({
    devices: { pdu: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 2 } },
    nodes: { n1: { plugs: ['pdu:1'] } },
    extra: { auth, tls: { cert, key } },
  })
  await expect(
    startServer({ config: gw.config, engine: gw.engine, listen: { port: 0 } }),
  ).rejects.toMatchObject({
    code: 'SECRET_UNSAFE',
    message: `tls.key: ${key} is readable by group or others (mode 644); chmod 600 it`,
  })
  rmSync(dir, { recursive: true, force: true })
})
