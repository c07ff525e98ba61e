import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiGateway, bearer, startApi } from './helpers.js'

let g: ApiGateway
beforeAll(async () => {
  g = await startApi()
})
afterAll(async () => g?.stop())

const get = (url: string) => g.app.inject({ method: 'GET', url, headers: bearer('viewer') })

describe('nodes', () => {
  it('GET /v1/nodes/{node} reads now: state, plugs, levels, fenceAction', async () => {
    g.gw.lab.device('pdu')!.sim.setPhysical('4', 'off')
    const r = await get('/v1/nodes/lv')
    expect(r.statusCode).toBe(200)
    expect(r.json()).toEqual({
      simulated: false,
      node: {
        name: 'lv',
        state: 'off', // every plug of level 2 reads off
        plugs: [
          { device: 'bmc', plug: '1', level: 1, state: 'on' },
          { device: 'pdu', plug: '4', level: 2, state: 'off' },
        ],
        levels: [[{ device: 'bmc', plug: '1' }], [{ device: 'pdu', plug: '4' }]],
        fenceAction: 'reboot',
        powerWaitMs: 10,
      },
    })
  })

  it('GET /v1/nodes without refresh touches no device; with refresh=true it reads, batched', async () => {
    const sim = g.gw.lab.device('pdu')!.sim
    const statusRequests = () => (g.gw.engine.device('pdu').counts as { commands: number }).commands
    const before = statusRequests()
    const cached = await get('/v1/nodes')
    expect(cached.statusCode).toBe(200)
    expect(cached.json().nodes.map((n: { name: string }) => n.name)).toEqual(['n1', 'dual', 'lv'])
    sim.setPhysical('2', 'off')
    sim.setPhysical('3', 'off')
    const stale = (await get('/v1/nodes?targets=dual')).json().nodes[0]
    expect(stale.state).not.toBe('off') // the cache does not know yet
    const fresh = await get('/v1/nodes?targets=dual&refresh=true')
    expect(fresh.json().nodes[0]).toMatchObject({ name: 'dual', state: 'off' })
    expect((await get('/v1/nodes?targets=dual')).json().nodes[0].state).toBe('off')
    expect(statusRequests()).toBe(before) // reads are not commands
  })

  it('targets: a hostlist; unknown names are 404 naming them', async () => {
    const r = await get('/v1/nodes?targets=n1,dual')
    expect(r.json().nodes).toHaveLength(2)
    const u = await get('/v1/nodes?targets=n[1-3]')
    expect(u.statusCode).toBe(404)
    expect(u.json()).toMatchObject({ code: 'UNKNOWN_NODE', message: 'no nodes n[2-3] in the config' })
  })

  it('refresh takes only true or false', async () => {
    const r = await get('/v1/nodes?refresh=yes')
    expect(r.statusCode).toBe(400)
    expect(r.json().field).toBe('querystring.refresh')
  })

  it('404 for an unknown node', async () => {
    const r = await get('/v1/nodes/ghost')
    expect(r.statusCode).toBe(404)
    expect(r.json()).toEqual({
      statusCode: 404,
      error: 'Not Found',
      code: 'UNKNOWN_NODE',
      message: 'no node ghost in the config',
      simulated: false,
    })
  })
})

describe('devices', () => {
  it('GET /v1/devices lists health; a probe fills last probe, latency and counts', async () => {
    const probe = await g.app.inject({
      method: 'POST',
      url: '/v1/devices/pdu/probe',
      headers: bearer('operator'),
    })
    expect(probe.statusCode).toBe(200)
    const r = await get('/v1/devices')
    expect(r.statusCode).toBe(200)
    const pdu = r.json().devices.find((d: { id: string }) => d.id === 'pdu')
    expect(pdu).toMatchObject({ id: 'pdu', driver: 'dummy', state: 'ok', plugs: 4, queued: 0 })
    expect(pdu.counts.probes).toBeGreaterThanOrEqual(1)
    expect(typeof pdu.latencyMs).toBe('number')
    expect(Date.parse(pdu.lastProbeAt)).not.toBeNaN()
  })

  it('a failing probe shows the last error', async () => {
    const sim = g.gw.lab.device('bmc')!.sim
    sim.faults.add({ type: 'garble' })
    try {
      const p = await g.app.inject({
        method: 'POST',
        url: '/v1/devices/bmc/probe',
        headers: bearer('operator'),
      })
      expect(p.statusCode).toBe(200)
      expect(p.json().device).toMatchObject({ state: 'failing', lastError: { code: 'PROTOCOL_ERROR' } })
      const d = await get('/v1/devices/bmc')
      expect(d.json().device.state).toBe('failing')
      expect(d.json().device.counts.probeFailures).toBeGreaterThanOrEqual(1)
    } finally {
      sim.faults.clear()
    }
  })

  it('404 for an unknown device', async () => {
    const r = await get('/v1/devices/nope')
    expect(r.statusCode).toBe(404)
    expect(r.json()).toMatchObject({ code: 'UNKNOWN_DEVICE' })
    const p = await g.app.inject({
      method: 'POST',
      url: '/v1/devices/nope/probe',
      headers: bearer('operator'),
    })
    expect(p.statusCode).toBe(404)
  })
})

describe('history', () => {
  it('lists journal entries newest first, filtered by node, outcome and limit', async () => {
    const post = (node: string, action: string) =>
      g.app.inject({
        method: 'POST',
        url: `/v1/nodes/${node}/power`,
        headers: bearer('operator'),
        payload: { action },
      })
    const a = (await post('n1', 'off')).json().operation.id
    const b = (await post('n1', 'on')).json().operation.id
    const all = await get('/v1/history?node=n1')
    expect(all.statusCode).toBe(200)
    const ops = all.json().entries.map((e: { op: string }) => e.op)
    expect(ops.indexOf(b)).toBeLessThan(ops.indexOf(a))
    expect(all.json().entries[0]).toMatchObject({
      node: 'n1',
      kind: 'power',
      action: 'on',
      outcome: 'success',
      initiator: { name: 'operator', role: 'operator', via: 'api' },
    })
    expect((await get('/v1/history?limit=1')).json().entries).toHaveLength(1)
    expect((await get('/v1/history?outcome=failed&node=n1')).json().entries).toEqual([])
    const future = await get('/v1/history?since=2999-01-01T00:00:00Z')
    expect(future.json().entries).toEqual([])
  })

  it('bad query values are 400 naming the parameter', async () => {
    const s = await get('/v1/history?since=yesterday')
    expect(s.statusCode).toBe(400)
    expect(s.json()).toMatchObject({ field: 'querystring.since' })
    expect(s.json().message).toMatch(/expected an ISO time/)
    const l = await get('/v1/history?limit=0')
    expect(l.statusCode).toBe(400)
    expect(l.json().field).toBe('querystring.limit')
    const o = await get('/v1/history?outcome=maybe')
    expect(o.statusCode).toBe(400)
    expect(o.json().message).toMatch(
      /querystring\.outcome: expected one of "success", "failed", "unverified", "confirmed-by-operator", "unknown"/,
    )
    const x = await get('/v1/history?nodes=n1')
    expect(x.statusCode).toBe(400)
    expect(x.json().message).toMatch(/querystring\.nodes: unknown field/)
  })
})

describe('other routes', () => {
  it('an unknown route is a 404 in the same error shape', async () => {
    const r = await get('/v1/nope')
    expect(r.statusCode).toBe(404)
    expect(r.json()).toMatchObject({ statusCode: 404, error: 'Not Found', code: 'NOT_FOUND' })
  })

  it('the OpenAPI document lists every route, with bearer security and response schemas', async () => {
    const doc = (await g.app.inject({ method: 'GET', url: '/openapi.json' })).json()
    expect(doc.openapi).toMatch(/^3\./)
    for (const p of [
      '/healthz',
      '/metrics',
      '/v1/whoami',
      '/v1/nodes',
      '/v1/nodes/{node}',
      '/v1/nodes/{node}/power',
      '/v1/nodes/{node}/fence',
      '/v1/power',
      '/v1/devices',
      '/v1/devices/{id}',
      '/v1/devices/{id}/probe',
      '/v1/operations/{id}',
      '/v1/history',
    ])
      expect(Object.keys(doc.paths)).toContain(p)
    const power = doc.paths['/v1/nodes/{node}/power'].post
    expect(power.security).toEqual([{ bearer: [] }])
    expect(Object.keys(power.responses)).toEqual(
      expect.arrayContaining(['200', '202', '400', '401', '403', '404', '409']),
    )
    expect(power.requestBody.content['application/json'].schema.properties.action.enum).toEqual([
      'on',
      'off',
      'cycle',
      'reboot',
    ])
    expect(doc.paths['/healthz'].get.security).toBeUndefined()
  })
})
