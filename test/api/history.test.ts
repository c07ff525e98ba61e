import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiGateway, bearer, startApi } from './helpers.js'

let g: ApiGateway
beforeAll(async () => {
  g = await startApi()
  // interleaved: n1, lv, n1, lv, …
  for (let i = 0; i < 6; i++)
    await g.app.inject({
      method: 'POST',
      url: `/v1/nodes/${i % 2 ? 'lv' : 'n1'}/power`,
      headers: bearer('operator'),
      payload: { action: 'off' },
    })
})
afterAll(async () => g?.stop())

type Page = { entries: { op: string; node: string }[]; next?: string }
const get = async (url: string, who: 'viewer' | 'lab' = 'viewer') => {
  const r = await g.app.inject({ method: 'GET', url, headers: bearer(who) })
  return { status: r.statusCode, body: r.json() as Page & { field?: string; message?: string } }
}

describe('GET /v1/history pages', () => {
  it('a page at a time with next/before: every entry once, newest first', async () => {
    const all = (await get('/v1/history')).body.entries.map((e) => e.op)
    expect(all).toHaveLength(6)
    const seen: string[] = []
    let url = '/v1/history?limit=4'
    for (;;) {
      const { status, body } = await get(url)
      expect(status).toBe(200)
      expect(body.entries.length).toBeLessThanOrEqual(4)
      seen.push(...body.entries.map((e) => e.op))
      if (!body.next) break
      url = `/v1/history?limit=4&before=${body.next}`
    }
    expect(seen).toEqual(all)
    // the last page says there is no more
    expect((await get('/v1/history?limit=6')).body.next).toBeUndefined()
  })

  it("a restricted token's page is full of its own nodes", async () => {
    const { body } = await get('/v1/history?limit=2', 'lab')
    expect(body.entries.map((e) => e.node)).toEqual(['n1', 'n1'])
    expect(body.next).toBeDefined()
    const rest = await get(`/v1/history?limit=2&before=${body.next}`, 'lab')
    expect(rest.body.entries.map((e) => e.node)).toEqual(['n1'])
    expect(rest.body.next).toBeUndefined()
  })

  it('a page bound and a cursor that is not in the journal are 400 naming the parameter', async () => {
    const big = await get('/v1/history?limit=10001')
    expect(big.status).toBe(400)
    expect(big.body.field).toBe('querystring.limit')
    expect(big.body.message).toMatch(/expected 1 to 10000/)
    const stale = await get(`/v1/history?before=${Buffer.from('gone\u0000n1').toString('base64url')}`)
    expect(stale.status).toBe(400)
    expect(stale.body.field).toBe('querystring.before')
    expect(stale.body.message).toMatch(/^querystring\.before: cursor .* is not in the journal/)
    const junk = await get('/v1/history?before=no%20spaces')
    expect(junk.status).toBe(400)
    expect(junk.body.field).toBe('querystring.before')
  })
})
