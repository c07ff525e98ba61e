import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiGateway, NODES, bearer, startApi } from './helpers.js'

/** Slow devices: an operation stays in flight long enough for the next request to meet it. */
const SLOW = {
  pdu: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 4, transitionDelay: '1s', initial: 'on' },
  bmc: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 1, transitionDelay: '1s', initial: 'on' },
}

let g: ApiGateway
beforeAll(async () => {
  g = await startApi({
    devices: SLOW,
    nodes: NODES,
    extra: { api: { maxInFlightPerToken: 2, maxInFlightPerNode: 1 } },
  })
})
afterAll(async () => g?.stop())

const post = (url: string, who: 'operator' | 'fencer', body: object, headers: Record<string, string> = {}) =>
  g.app.inject({ method: 'POST', url, headers: { ...bearer(who), ...headers }, payload: body })

async function ended(id: string): Promise<void> {
  for (;;) {
    const r = await g.app.inject({ method: 'GET', url: `/v1/operations/${id}`, headers: bearer('operator') })
    if (r.json().operation.status !== 'running') return
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('bounds on operations in flight per token (429)', () => {
  it('refuses past the per-node and per-token bounds, never a fence, and frees the room when operations end', async () => {
    const first = await post(
      '/v1/nodes/n1/power?wait=false',
      'operator',
      { action: 'off' },
      { 'idempotency-key': 'k1' },
    )
    expect(first.statusCode).toBe(202)
    // a second operation of the same token on the same node
    const sameNode = await post('/v1/nodes/n1/power?wait=false', 'operator', { action: 'off' })
    expect(sameNode.statusCode).toBe(429)
    expect(sameNode.headers['retry-after']).toBe('1')
    expect(sameNode.json()).toMatchObject({ code: 'TOO_MANY_OPERATIONS' })
    expect(sameNode.json().message).toMatch(
      /^too many operations in flight for token operator on node n1 \(api\.maxInFlightPerNode: 1\)/,
    )
    // a retry of the first (same Idempotency-Key) starts nothing: it is never refused
    const replay = await post(
      '/v1/nodes/n1/power?wait=false',
      'operator',
      { action: 'off' },
      { 'idempotency-key': 'k1' },
    )
    expect(replay.statusCode).toBe(202)
    expect(replay.json().operation.id).toBe(first.json().operation.id)
    const second = await post('/v1/power?wait=false', 'operator', { targets: 'dual', action: 'off' })
    expect(second.statusCode).toBe(202)
    const third = await post('/v1/nodes/lv/power?wait=false', 'operator', { action: 'off' })
    expect(third.statusCode).toBe(429)
    expect(third.json().message).toMatch(
      /^too many operations in flight for token operator \(api\.maxInFlightPerToken: 2\)/,
    )
    // the fencer's fences are not refused by the operator's traffic, on the same nodes
    const fence = await post('/v1/nodes/n1/fence?wait=false', 'fencer', {})
    expect(fence.statusCode).toBe(202)
    const fence2 = await post('/v1/nodes/lv/fence?wait=false', 'fencer', { action: 'off' })
    expect(fence2.statusCode).toBe(202)
    // a refused request left nothing behind: once the accepted ones end, there is room again
    for (const r of [first, second, fence, fence2]) await ended(r.json().operation.id)
    const again = await post('/v1/nodes/lv/power?wait=false', 'operator', { action: 'off' })
    expect(again.statusCode).toBe(202)
    await ended(again.json().operation.id)
  }, 30_000)

  it("a token's own power requests do not use up its fence budget", async () => {
    // the fencer fills its power budget (2 in flight), then fences
    const a = await post('/v1/nodes/n1/power?wait=false', 'fencer', { action: 'off' })
    const b = await post('/v1/nodes/dual/power?wait=false', 'fencer', { action: 'off' })
    expect([a.statusCode, b.statusCode]).toEqual([202, 202])
    expect((await post('/v1/nodes/lv/power?wait=false', 'fencer', { action: 'off' })).statusCode).toBe(429)
    const f = await post('/v1/nodes/lv/fence?wait=false', 'fencer', { action: 'off' })
    expect(f.statusCode).toBe(202)
    for (const r of [a, b, f]) await ended(r.json().operation.id)
  }, 30_000)

  it('the config refuses a bound out of range, naming it', async () => {
    const { readConfig } = await import('../../src/config/config.js')
    const { problems } = readConfig({ devices: {}, nodes: {}, api: { maxInFlightPerToken: 0 } })
    expect(problems.map((p) => p.path.join('.'))).toContain('api.maxInFlightPerToken')
    const { config } = readConfig({ devices: {}, nodes: {} })
    expect(config.api).toEqual({ maxInFlightPerToken: 64, maxInFlightPerNode: 4 })
  })
})
