import { Writable } from 'node:stream'
import pino from 'pino'
import { afterEach, expect, it } from 'vitest'
import { buildApp } from '../../src/api/app.js'
import type { FastifyBaseLogger } from 'fastify'
import { type TestGateway, startTestGateway } from '../helpers/gateway.js'
import { TOKENS, bearer } from './helpers.js'
import { hashToken } from '../../src/api/auth.js'

let gw: TestGateway | undefined
afterEach(async () => gw?.stop())

it('tokens never reach the log, even with every request logged at trace level', async () => {
  gw = await startTestGateway({
    devices: { pdu: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 2 } },
    nodes: { n1: { plugs: ['pdu:1'] } },
    extra: {
      auth: {
        tokens: [
          { name: 'op', role: 'operator', hash: `sha256:${hashToken(TOKENS.operator).toString('hex')}` },
        ],
      },
    },
  })
  const lines: string[] = []
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk))
      cb()
    },
  })
  // a logger that would print the headers if anything handed them over
  const log = pino(
    {
      level: 'trace',
      serializers: { req: (r: { headers: unknown; url: string }) => ({ url: r.url, headers: r.headers }) },
    },
    sink,
  ) as unknown as FastifyBaseLogger
  const app = await buildApp({ engine: gw.engine, config: gw.config, log, processMetrics: false })
  try {
    await app.inject({ method: 'GET', url: '/v1/nodes', headers: bearer('operator') })
    await app.inject({
      method: 'GET',
      url: '/v1/nodes',
      headers: { authorization: 'Bearer wrong-secret-token' },
    })
    await app.inject({
      method: 'POST',
      url: '/v1/nodes/n1/power',
      headers: bearer('operator'),
      payload: { action: 'off' },
    })
  } finally {
    await app.close()
  }
  const text = lines.join('')
  expect(text).toContain('/v1/nodes') // requests were logged
  expect(text).toContain('[redacted]')
  expect(text).not.toContain(TOKENS.operator)
  expect(text).not.toContain('wrong-secret-token')
})
