import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { authenticate } from '../../src/api/auth.js'
import { hashToken } from '../../src/api/auth.js'
import { type ApiGateway, bearer, journal, startApi } from './helpers.js'

let g: ApiGateway
beforeAll(async () => {
  g = await startApi()
})
afterAll(async () => g?.stop())

describe('authentication', () => {
  it('401 without a token, with a clear body and WWW-Authenticate', async () => {
    const r = await g.app.inject({ method: 'GET', url: '/v1/nodes' })
    expect(r.statusCode).toBe(401)
    expect(r.headers['www-authenticate']).toMatch(/^Bearer/)
    expect(r.json()).toMatchObject({
      statusCode: 401,
      error: 'Unauthorized',
      code: 'UNAUTHORIZED',
      message: expect.stringContaining('Authorization: Bearer'),
    })
  })

  it('401 with a wrong token; the token is never echoed', async () => {
    const r = await g.app.inject({
      method: 'POST',
      url: '/v1/nodes/n1/power',
      headers: { authorization: 'Bearer not-a-real-token-xyz' },
      payload: { action: 'off' },
    })
    expect(r.statusCode).toBe(401)
    expect(r.json().message).toMatch(/unknown token/)
    expect(r.body).not.toContain('not-a-real-token-xyz')
    expect(g.gw.lab.device('pdu')!.sim.commands).toHaveLength(0)
  })

  it('401 for another scheme (Basic)', async () => {
    const r = await g.app.inject({
      method: 'GET',
      url: '/v1/nodes',
      headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
    })
    expect(r.statusCode).toBe(401)
    expect(r.json().message).toMatch(/expected 'Bearer <token>'/)
  })

  it('/healthz and /openapi.json need no token; /metrics does', async () => {
    expect((await g.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200)
    expect((await g.app.inject({ method: 'GET', url: '/openapi.json' })).statusCode).toBe(200)
    expect((await g.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401)
    expect(
      (await g.app.inject({ method: 'GET', url: '/metrics', headers: bearer('viewer') })).statusCode,
    ).toBe(200)
  })

  it('whoami names the token, its role and its nodes', async () => {
    const r = await g.app.inject({ method: 'GET', url: '/v1/whoami', headers: bearer('lab') })
    expect(r.json()).toEqual({ simulated: false, name: 'lab', role: 'operator', nodes: ['n1', 'dual'] })
    const f = await g.app.inject({ method: 'GET', url: '/v1/whoami', headers: bearer('fencer') })
    expect(f.json()).toMatchObject({ name: 'fencer', role: 'fencer', nodes: ['n1', 'dual', 'lv'] })
  })

  it('authenticate compares hashes and picks the right token', () => {
    const tokens = [
      { name: 'a', role: 'viewer' as const, hash: hashToken('token-a') },
      { name: 'b', role: 'fencer' as const, hash: hashToken('token-b'), nodes: ['x1'] },
    ]
    expect(authenticate('Bearer token-b', tokens)).toMatchObject({ name: 'b', role: 'fencer' })
    expect([...authenticate('bearer  token-b ', tokens).nodes!]).toEqual(['x1'])
    expect(() => authenticate('Bearer token-c', tokens)).toThrow(/unknown token/)
    expect(() => authenticate(undefined, tokens)).toThrow(/missing token/)
  })
})

describe('roles', () => {
  it('403 for a viewer powering a node; nothing journaled, no command', async () => {
    const before = (await journal(g.gw)).length
    const r = await g.app.inject({
      method: 'POST',
      url: '/v1/nodes/n1/power',
      headers: bearer('viewer'),
      payload: { action: 'off' },
    })
    expect(r.statusCode).toBe(403)
    expect(r.json()).toMatchObject({ code: 'FORBIDDEN', error: 'Forbidden' })
    expect(r.json().message).toMatch(/role viewer.*power nodes.*needs role operator/)
    expect(await journal(g.gw)).toHaveLength(before)
    expect(g.gw.lab.device('pdu')!.sim.commands).toHaveLength(0)
  })

  it('403 for an operator fencing', async () => {
    const r = await g.app.inject({
      method: 'POST',
      url: '/v1/nodes/n1/fence',
      headers: bearer('operator'),
      payload: {},
    })
    expect(r.statusCode).toBe(403)
    expect(r.json().message).toMatch(/role operator.*fence nodes.*needs role fencer/)
  })

  it('403 for a viewer probing a device, 200 for an operator', async () => {
    const v = await g.app.inject({ method: 'POST', url: '/v1/devices/bmc/probe', headers: bearer('viewer') })
    expect(v.statusCode).toBe(403)
    const o = await g.app.inject({
      method: 'POST',
      url: '/v1/devices/bmc/probe',
      headers: bearer('operator'),
    })
    expect(o.statusCode).toBe(200)
    expect(o.json().device).toMatchObject({ id: 'bmc', state: 'ok' })
  })
})

describe('node allow-list', () => {
  it('403 powering a node outside the token allow-list, naming it', async () => {
    const r = await g.app.inject({
      method: 'POST',
      url: '/v1/nodes/lv/power',
      headers: bearer('lab'),
      payload: { action: 'off' },
    })
    expect(r.statusCode).toBe(403)
    expect(r.json().message).toBe("token 'lab' may not act on node lv (allowed: n1,dual)")
    expect(g.gw.lab.device('bmc')!.sim.commands).toHaveLength(0)
  })

  it('403 for a node outside the list even when it does not exist (no probing of names)', async () => {
    const r = await g.app.inject({ method: 'GET', url: '/v1/nodes/ghost', headers: bearer('lab') })
    expect(r.statusCode).toBe(403)
  })

  it('403 for a bulk whose hostlist reaches outside the list', async () => {
    const r = await g.app.inject({
      method: 'POST',
      url: '/v1/power',
      headers: bearer('lab'),
      payload: { targets: 'n1,lv', action: 'off' },
    })
    expect(r.statusCode).toBe(403)
    expect(r.json().message).toMatch(/node lv/)
  })

  it('lists are filtered to the allowed nodes', async () => {
    const r = await g.app.inject({ method: 'GET', url: '/v1/nodes', headers: bearer('lab') })
    expect(r.statusCode).toBe(200)
    expect(r.json().nodes.map((n: { name: string }) => n.name)).toEqual(['n1', 'dual'])
  })

  it('history is filtered; an operation on other nodes is 403', async () => {
    const op = await g.app.inject({
      method: 'POST',
      url: '/v1/nodes/lv/power',
      headers: bearer('operator'),
      payload: { action: 'on' },
    })
    expect(op.statusCode).toBe(200)
    const id = op.json().operation.id
    const mine = await g.app.inject({ method: 'GET', url: '/v1/history', headers: bearer('lab') })
    expect(mine.json().entries.some((e: { node: string }) => e.node === 'lv')).toBe(false)
    const all = await g.app.inject({ method: 'GET', url: '/v1/history', headers: bearer('viewer') })
    expect(all.json().entries.some((e: { op: string }) => e.op === id)).toBe(true)
    const get = await g.app.inject({ method: 'GET', url: `/v1/operations/${id}`, headers: bearer('lab') })
    expect(get.statusCode).toBe(403)
    const h = await g.app.inject({ method: 'GET', url: '/v1/history?node=lv', headers: bearer('lab') })
    expect(h.statusCode).toBe(403)
  })

  it('an allowed node works for the restricted token', async () => {
    const r = await g.app.inject({
      method: 'POST',
      url: '/v1/nodes/n1/power',
      headers: { ...bearer('lab') },
      payload: { action: 'on' },
    })
    expect(r.statusCode).toBe(200)
    expect(r.json().operation).toMatchObject({ status: 'succeeded', initiator: { name: 'lab', via: 'api' } })
  })
})
