import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiGateway, bearer, startApi } from './helpers.js'

/**
 * A hostlist is the one request field that grows: a short string can name 10^10 nodes, or a
 * number past 2^53 that never ends a loop. Any token (a viewer's too) gets a 400 that names the
 * field and the limit, without building the names, and the gateway keeps answering.
 */
let g: ApiGateway
beforeAll(async () => {
  g = await startApi()
})
afterAll(async () => g?.stop())

const viewerGet = (targets: string) =>
  g.app.inject({
    method: 'GET',
    url: `/v1/nodes?targets=${encodeURIComponent(targets)}`,
    headers: bearer('viewer'),
  })

describe('hostlist limits through the API', () => {
  it.each([
    ['a[1-99999]b[1-99999]', /9999800001 names, more than the limit of 100000 names per hostlist/],
    ['n[100000000000000000000]', /has 21 digits, more than the limit of 15/],
    ['n[1-100000000000000000000]', /has 21 digits, more than the limit of 15/],
    ['a[1-60000],b[1-60000]', /120000 names, more than the limit of 100000/],
  ])('GET /v1/nodes?targets=%s (viewer) is 400 naming the limit', async (targets, why) => {
    const r = await viewerGet(targets)
    expect(r.statusCode).toBe(400)
    expect(r.json()).toMatchObject({ code: 'HOSTLIST_SYNTAX', field: 'querystring.targets' })
    expect(r.json().message).toMatch(/^querystring\.targets: hostlist /)
    expect(r.json().message).toMatch(why)
    // still serving
    expect((await viewerGet('n1')).statusCode).toBe(200)
  })

  it('POST /v1/power (bulk) refuses the same before touching anything', async () => {
    const r = await g.app.inject({
      method: 'POST',
      url: '/v1/power',
      headers: bearer('operator'),
      payload: { targets: 'n[1-99999]x[1-99999]', action: 'off' },
    })
    expect(r.statusCode).toBe(400)
    expect(r.json()).toMatchObject({ code: 'HOSTLIST_SYNTAX', field: 'body.targets' })
    expect(r.json().message).toMatch(/more than the limit of 100000 names per hostlist/)
  })
})
