import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http'
import type net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { AgentFailure } from '../../src/agent/failure.js'
import { GatewayClient } from '../../src/agent/http.js'
import { closedPort } from '../helpers/net.js'

/**
 * The client's failover between replicas of the gateway (issue 14), in-process against small
 * HTTP servers: when it moves on to the next URL, and when it must not (a mutating request the
 * first gateway may have accepted, sent without an Idempotency-Key).
 */
interface Seen {
  method: string
  url: string
  key: string | undefined
  body: string
}

const servers: (Server | net.Server)[] = []
const sockets = new Set<net.Socket>()
afterEach(async () => {
  for (const s of sockets) s.destroy()
  sockets.clear()
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))))
})

async function listen(s: Server | net.Server): Promise<string> {
  servers.push(s)
  s.on('connection', (c: net.Socket) => sockets.add(c))
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  return `http://127.0.0.1:${(s.address() as net.AddressInfo).port}`
}

/** A server that records each request and answers with `handle` (or drops the connection). */
async function recorder(
  handle: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = []
  const s = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => {
      body += c
    })
    req.on('end', () => {
      const key = req.headers['idempotency-key']
      seen.push({ method: req.method!, url: req.url!, key: typeof key === 'string' ? key : undefined, body })
      handle(req, res)
    })
  })
  return { url: await listen(s), seen }
}

const ok = (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ simulated: false, answer: 'ok' }))
}
/** Takes the request, then the gateway "dies": the connection closes without an answer. */
const dies = (req: IncomingMessage) => req.socket.destroy()

const refusedUrl = async () => `http://127.0.0.1:${await closedPort()}`

const client = (urls: string[], extra: { readTimeoutMs?: number } = {}) =>
  GatewayClient.create({
    urls: urls.map((u) => new URL(u)),
    token: 't',
    connectTimeoutMs: 1000,
    allowSimulated: false,
    ...extra,
  })

describe('failover between gateway URLs', () => {
  it('a refused connection: the request goes to the next gateway, which stays in use', async () => {
    const dead = await refusedUrl()
    const b = await recorder(ok)
    const c = await client([dead, b.url])
    try {
      const r = await c.post('/v1/nodes/n1/fence', { action: 'off', timeout: 10 }, 5000)
      expect(r.body).toEqual({ simulated: false, answer: 'ok' })
      expect(c.url).toBe(b.url)
      await c.get('/v1/nodes/n1', 5000)
      expect(b.seen.map((s) => `${s.method} ${s.url}`)).toEqual([
        'POST /v1/nodes/n1/fence',
        'GET /v1/nodes/n1',
      ])
    } finally {
      c.close()
    }
  })

  it('every gateway refused: one failure naming each', async () => {
    const [x, y] = [await refusedUrl(), await refusedUrl()]
    const c = await client([x, y])
    try {
      const e = await c.get('/v1/nodes/n1', 5000).catch((e: unknown) => e)
      expect(e).toBeInstanceOf(AgentFailure)
      expect((e as Error).message).toBe(
        `GET /v1/nodes/n1: no gateway of 2 could take it: cannot reach the gateway at ${x}: connection refused (is fencegate running?); cannot reach the gateway at ${y}: connection refused (is fencegate running?)`,
      )
    } finally {
      c.close()
    }
  })

  it('a mutating request without an Idempotency-Key is never re-sent after a gateway took it', async () => {
    const a = await recorder(dies)
    const b = await recorder(ok)
    const c = await client([a.url, b.url])
    try {
      const e = await c.post('/v1/nodes/n1/fence', { action: 'off' }, 5000).catch((e: unknown) => e)
      expect((e as Error).message).toMatch(/closed the connection before answering/)
      expect(a.seen).toHaveLength(1)
      expect(b.seen).toEqual([])
    } finally {
      c.close()
    }
  })

  it('with an Idempotency-Key it is re-sent to the next gateway: the same key, the same body', async () => {
    const a = await recorder(dies)
    const b = await recorder(ok)
    const c = await client([a.url, b.url])
    try {
      await c.post('/v1/nodes/n1/fence', { action: 'off', timeout: 12.3 }, 5000, { idempotencyKey: 'k-1' })
      expect(a.seen).toEqual([
        { method: 'POST', url: '/v1/nodes/n1/fence', key: 'k-1', body: '{"action":"off","timeout":12.3}' },
      ])
      expect(b.seen).toEqual(a.seen)
    } finally {
      c.close()
    }
  })

  it('a read-only request that gets no answer within read_timeout goes to the next gateway', async () => {
    const a = await recorder(() => {}) // takes the request, never answers
    const b = await recorder(ok)
    const c = await client([a.url, b.url], { readTimeoutMs: 300 })
    try {
      const r = await c.get('/v1/nodes/n1', 30_000)
      expect(r.status).toBe(200)
      expect(a.seen).toHaveLength(1)
      expect(b.seen).toHaveLength(1)
    } finally {
      c.close()
    }
  })

  it('a read-only request on the only gateway: read_timeout ends it, not the caller deadline', async () => {
    const a = await recorder(() => {})
    const c = await client([a.url], { readTimeoutMs: 300 })
    try {
      const e = await c.get('/v1/nodes/n1', 45_000).catch((e: unknown) => e)
      expect((e as Error).message).toBe(
        `GET /v1/nodes/n1: timed out after 0.3s waiting for the gateway at ${a.url} to answer (read_timeout)`,
      )
    } finally {
      c.close()
    }
  })

  it('a gateway that answers 503 (not acting): a keyed or read-only request moves on, a bare POST does not', async () => {
    const busy = (_req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(503, { 'content-type': 'application/json' })
      res.end(
        JSON.stringify({
          statusCode: 503,
          error: 'Service Unavailable',
          code: 'ENGINE_CLOSED',
          message: 'the engine is shutting down',
        }),
      )
    }
    const a = await recorder(busy)
    const b = await recorder(ok)
    const c = await client([a.url, b.url])
    try {
      const e = await c.post('/v1/nodes/n1/power', { action: 'on' }, 5000).catch((e: unknown) => e)
      expect((e as Error).message).toBe(
        'POST /v1/nodes/n1/power: the gateway answered 503 ENGINE_CLOSED: the engine is shutting down',
      )
      expect(b.seen).toEqual([])
      await c.post('/v1/nodes/n1/power', { action: 'on' }, 5000, { idempotencyKey: 'k-2' })
      await c.get('/v1/nodes/n1', 5000)
      expect(b.seen.map((s) => s.method)).toEqual(['POST', 'GET'])
    } finally {
      c.close()
    }
  })

  it('a server that is not fencegate: said in words, not an empty error', async () => {
    const other = await recorder((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/html' })
      res.end('<html>nothing here</html>')
    })
    const empty = await recorder((_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' })
      res.end('{}')
    })
    const c1 = await client([other.url])
    const c2 = await client([empty.url])
    try {
      expect(((await c1.get('/v1/whoami', 5000).catch((e: unknown) => e)) as Error).message).toBe(
        `the server at ${other.url} answered GET /v1/whoami with HTTP 404 and a body that is not JSON: it does not look like a fencegate gateway (check the URL): <html>nothing here</html>`,
      )
      expect(((await c2.get('/v1/whoami', 5000).catch((e: unknown) => e)) as Error).message).toBe(
        `the server at ${empty.url} answered GET /v1/whoami with HTTP 404 (no fencegate error body): it does not look like a fencegate gateway (check the URL)`,
      )
    } finally {
      c1.close()
      c2.close()
    }
  })
})
