import { afterEach, describe, expect, it } from 'vitest'
import { type ApiGateway, bearer, startApi } from './helpers.js'

let g: ApiGateway
afterEach(async () => g?.stop())

const post = (url: string, payload: unknown, who: Parameters<typeof bearer>[0]) =>
  g.app.inject({ method: 'POST', url, headers: bearer(who), payload: payload as object })

describe('POST /v1/nodes/{node}/confirm (meatware)', () => {
  it('completes a fence waiting at its manual level; the waiting fence shows in the node view', async () => {
    g = await startApi({
      nodes: { m: { levels: [['pdu:1'], 'manual'] } },
      devices: { pdu: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 1 } },
    })
    g.gw.lab.device('pdu')!.sim.faults.add({ type: 'drop' })
    const fence = post('/v1/nodes/m/fence', { action: 'off', timeout: 30 }, 'fencer')
    let view: { awaitingConfirmation?: { op: string } } = {}
    for (let i = 0; i < 300 && !view.awaitingConfirmation; i++) {
      await new Promise((r) => setTimeout(r, 20))
      // the last-known view: no device touched (the PDU is dead)
      view = (
        await g.app.inject({ method: 'GET', url: '/v1/nodes?targets=m', headers: bearer('viewer') })
      ).json().nodes[0]
    }
    expect(view.awaitingConfirmation?.op).toEqual(expect.any(String))
    // an operator may not confirm: it is the fencer's call
    expect((await post('/v1/nodes/m/confirm', { reason: 'checked it' }, 'operator')).statusCode).toBe(403)
    // the reason is required
    const noReason = await post('/v1/nodes/m/confirm', {}, 'fencer')
    expect(noReason.statusCode).toBe(400)
    expect(noReason.json().message).toContain('reason')
    const c = await post('/v1/nodes/m/confirm', { reason: 'both cords pulled' }, 'fencer')
    expect(c.statusCode).toBe(200)
    const f = await fence
    expect(f.json().operation.id).toBe(view.awaitingConfirmation!.op)
    expect(f.json().operation.results[0]).toMatchObject({
      outcome: 'confirmed-by-operator',
      confirmation: { by: 'fencer', reason: 'both cords pulled' },
    })
    const h = await g.app.inject({ method: 'GET', url: '/v1/history?node=m', headers: bearer('viewer') })
    expect(h.json().entries[0]).toMatchObject({ outcome: 'confirmed-by-operator' })
    const metrics = await g.app.inject({ method: 'GET', url: '/metrics', headers: bearer('viewer') })
    expect(metrics.body).toMatch(/fencegate_operations_total\{[^}]*outcome="confirmed-by-operator"[^}]*\} 1/)
  })

  it('409 NOTHING_TO_CONFIRM when no fence waits or failed', async () => {
    g = await startApi()
    const r = await post('/v1/nodes/n1/confirm', { reason: 'looked at it' }, 'fencer')
    expect(r.statusCode).toBe(409)
    expect(r.json().code).toBe('NOTHING_TO_CONFIRM')
  })
})
