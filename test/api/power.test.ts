import { afterEach, describe, expect, it } from 'vitest'
import { type ApiGateway, bearer, journal, startApi } from './helpers.js'

let g: ApiGateway
afterEach(async () => g?.stop())

const post = (url: string, payload: unknown, who: Parameters<typeof bearer>[0] = 'operator', headers = {}) =>
  g.app.inject({
    method: 'POST',
    url,
    headers: { ...bearer(who), ...headers },
    ...(payload === undefined ? {} : { payload: payload as object }),
  })

describe('power and fence', () => {
  it('off: 200, verified off on the mock, journaled intent and result', async () => {
    g = await startApi()
    const r = await post('/v1/nodes/dual/power', { action: 'off' })
    expect(r.statusCode).toBe(200)
    const op = r.json().operation
    expect(op).toMatchObject({ kind: 'power', action: 'off', nodes: ['dual'], status: 'succeeded' })
    expect(op.results[0]).toMatchObject({ node: 'dual', outcome: 'success', state: 'off', level: 1 })
    expect(op.results[0].attempts.filter((a: { step: string }) => a.step === 'verify')).toHaveLength(2)
    const sim = g.gw.lab.device('pdu')!.sim
    expect([sim.state('2'), sim.state('3')]).toEqual(['off', 'off'])
    const recs = await journal(g.gw)
    expect(recs.filter((x) => x.op === op.id).map((x) => x.t)).toEqual(
      expect.arrayContaining(['intent', 'result']),
    )
  })

  it('fence without a body uses the node fenceAction (lv: reboot); fencer only', async () => {
    g = await startApi()
    const r = await post('/v1/nodes/lv/fence', undefined, 'fencer')
    expect(r.statusCode).toBe(200)
    expect(r.json().operation).toMatchObject({ kind: 'fence', action: 'reboot', status: 'succeeded' })
    expect(r.json().operation.results[0]).toMatchObject({ level: 1, onVerified: true })
    const cmds = g.gw.lab.device('bmc')!.sim.commands.map((c) => c.action)
    expect(cmds).toEqual(['off', 'on']) // never the device's own cycle
  })

  it('fence with action off; a failing fence is still 200 with status failed', async () => {
    g = await startApi({
      devices: { pdu: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 2 } },
      nodes: { n1: { plugs: ['pdu:1'] } },
    })
    const ok = await post('/v1/nodes/n1/fence', { action: 'off' }, 'fencer')
    expect(ok.json().operation).toMatchObject({ action: 'off', status: 'succeeded' })
    g.gw.lab.device('pdu')!.sim.setPhysical('1', 'on')
    g.gw.lab.device('pdu')!.sim.faults.add({ type: 'lie' })
    const bad = await post('/v1/nodes/n1/fence', { action: 'off', timeout: 1 }, 'fencer')
    expect(bad.statusCode).toBe(200)
    const op = bad.json().operation
    expect(op.status).toBe('failed')
    expect(op.results[0].state).not.toBe('off')
    expect(op.results[0].error.code).toMatch(/VERIFY_FAILED|DEADLINE_EXCEEDED/)
  })

  it('bulk power over a hostlist', async () => {
    g = await startApi({
      devices: { pdu: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 8 } },
      nodes: Object.fromEntries([1, 2, 3, 4].map((i) => [`node${i}`, { plugs: [`pdu:${i}`] }])),
    })
    const r = await post('/v1/power', { targets: 'node[1-3]', action: 'off' })
    expect(r.statusCode).toBe(200)
    const op = r.json().operation
    expect(op).toMatchObject({
      kind: 'bulk',
      action: 'off',
      nodes: ['node1', 'node2', 'node3'],
      status: 'succeeded',
    })
    const sim = g.gw.lab.device('pdu')!.sim
    expect(['1', '2', '3', '4'].map((p) => sim.state(p))).toEqual(['off', 'off', 'off', 'on'])
  })

  it('409 FENCE_HOLD: an operator may not power on a node just fenced; a fencer may', async () => {
    g = await startApi({ engine: { fenceHold: '30s' } })
    expect((await post('/v1/nodes/n1/fence', { action: 'off' }, 'fencer')).json().operation.status).toBe(
      'succeeded',
    )
    const r = await post('/v1/nodes/n1/power', { action: 'on' })
    expect(r.statusCode).toBe(409)
    expect(r.json()).toMatchObject({ statusCode: 409, error: 'Conflict', code: 'FENCE_HOLD' })
    expect(r.json().message).toMatch(/n1 was fenced/)
    expect(g.gw.lab.device('pdu')!.sim.state('1')).toBe('off')
    const f = await post('/v1/nodes/n1/power', { action: 'on' }, 'fencer')
    expect(f.json().operation.status).toBe('succeeded')
  })

  it('404 for an unknown node; 404 naming every unknown node of a hostlist', async () => {
    g = await startApi()
    const r = await post('/v1/nodes/ghost/power', { action: 'off' })
    expect(r.statusCode).toBe(404)
    expect(r.json()).toMatchObject({ code: 'UNKNOWN_NODE', message: 'no node ghost in the config' })
    const b = await post('/v1/power', { targets: 'n1,x[1-3]', action: 'off' })
    expect(b.statusCode).toBe(404)
    expect(b.json().message).toBe('no nodes x[1-3] in the config')
    expect(g.gw.lab.device('pdu')!.sim.commands).toHaveLength(0)
  })
})

describe('bad input: 400 naming the field, nothing journaled, no command', () => {
  const cases: [string, string, unknown, RegExp, string][] = [
    [
      'missing action',
      '/v1/nodes/n1/power',
      {},
      /^body\.action: required, expected one of "on", "off", "cycle", "reboot"$/,
      'body.action',
    ],
    [
      'unknown action',
      '/v1/nodes/n1/power',
      { action: 'explode' },
      /body\.action: expected one of .*got "explode"/,
      'body.action',
    ],
    [
      'action of the wrong type',
      '/v1/nodes/n1/power',
      { action: 1 },
      /body\.action: expected one of .* got 1/,
      'body.action',
    ],
    [
      'timeout as a string',
      '/v1/nodes/n1/power',
      { action: 'off', timeout: '30' },
      /body\.timeout: expected a number from 1 to 3600, got "30"/,
      'body.timeout',
    ],
    [
      'timeout out of range',
      '/v1/nodes/n1/power',
      { action: 'off', timeout: 0 },
      /body\.timeout: expected a number from 1 to 3600, got 0/,
      'body.timeout',
    ],
    [
      'a typo in a fence body',
      '/v1/nodes/n1/fence',
      { acton: 'reboot' },
      /body\.acton: unknown field \(expected only: action, timeout\)/,
      'body.acton',
    ],
    [
      'cycle is no fence action',
      '/v1/nodes/n1/fence',
      { action: 'cycle' },
      /body\.action: expected one of "off", "reboot", got "cycle"/,
      'body.action',
    ],
    [
      'a body that is not an object',
      '/v1/nodes/n1/power',
      ['off'],
      /^body: expected a JSON object with action, timeout, got an array/,
      'body',
    ],
    [
      'bulk without targets',
      '/v1/power',
      { action: 'off' },
      /body\.targets: required, expected a string/,
      'body.targets',
    ],
  ]
  for (const [what, url, body, message, field] of cases)
    it(what, async () => {
      g = await startApi()
      const before = (await journal(g.gw)).length
      const r = await post(url, body, 'fencer')
      expect(r.statusCode).toBe(400)
      expect(r.json()).toMatchObject({ statusCode: 400, error: 'Bad Request', code: 'BAD_REQUEST', field })
      expect(r.json().message).toMatch(message)
      expect(await journal(g.gw)).toHaveLength(before)
      expect(g.gw.lab.device('pdu')!.sim.commands).toHaveLength(0)
    })

  it('a malformed hostlist: 400 HOSTLIST_SYNTAX naming the field and the character', async () => {
    g = await startApi()
    const r = await post('/v1/power', { targets: 'n[1-3', action: 'off' })
    expect(r.statusCode).toBe(400)
    expect(r.json()).toMatchObject({ code: 'HOSTLIST_SYNTAX', field: 'body.targets' })
    expect(r.json().message).toMatch(/^body\.targets: hostlist 'n\[1-3': '\[' without '\]' at character 2/)
    const q = await g.app.inject({ method: 'GET', url: '/v1/nodes?targets=n1%3B', headers: bearer('viewer') })
    expect(q.statusCode).toBe(400)
    expect(q.json().message).toMatch(/querystring\.targets: .*unexpected ';' .* at character 3/)
    expect(await journal(g.gw)).toHaveLength(0)
  })

  it('invalid JSON: 400 naming the body', async () => {
    g = await startApi()
    const r = await post('/v1/nodes/n1/power', undefined, 'operator', { 'content-type': 'application/json' })
    expect(r.statusCode).toBe(400)
    const j = await g.app.inject({
      method: 'POST',
      url: '/v1/nodes/n1/power',
      headers: { ...bearer('operator'), 'content-type': 'application/json' },
      payload: '{"action": off}',
    })
    expect(j.statusCode).toBe(400)
    expect(j.json()).toMatchObject({ code: 'BAD_REQUEST', field: 'body' })
    expect(await journal(g.gw)).toHaveLength(0)
  })

  it('a body not sent as JSON: 415 saying what to send (curl -d without -H), nothing done', async () => {
    g = await startApi()
    const r = await g.app.inject({
      method: 'POST',
      url: '/v1/nodes/n1/power',
      headers: { ...bearer('operator'), 'content-type': 'application/x-www-form-urlencoded' },
      payload: '{"action": "off"}',
    })
    expect(r.statusCode).toBe(415)
    expect(r.json()).toMatchObject({
      statusCode: 415,
      error: 'Unsupported Media Type',
      code: 'UNSUPPORTED_MEDIA_TYPE',
      field: 'body',
      message:
        "body: send it as JSON with the header 'Content-Type: application/json' (got 'application/x-www-form-urlencoded')",
    })
    expect(await journal(g.gw)).toHaveLength(0)
  })

  it('an unknown query parameter and a bad wait value are refused', async () => {
    g = await startApi()
    const r = await post('/v1/nodes/n1/power?wait=no', { action: 'off' })
    expect(r.statusCode).toBe(400)
    expect(r.json().message).toMatch(/querystring\.wait: expected one of "true", "false", got "no"/)
    expect(g.gw.lab.device('pdu')!.sim.commands).toHaveLength(0)
  })
})

describe('Idempotency-Key', () => {
  it('a retry with the same key returns the first operation; the device saw one command', async () => {
    g = await startApi()
    const key = { 'idempotency-key': 'retry-1' }
    const a = await post('/v1/nodes/n1/power', { action: 'off' }, 'operator', key)
    const b = await post('/v1/nodes/n1/power', { action: 'off' }, 'operator', key)
    expect(a.statusCode).toBe(200)
    expect(b.statusCode).toBe(200)
    expect(b.json().operation.id).toBe(a.json().operation.id)
    expect(b.headers['idempotent-replayed']).toBe('true')
    expect(g.gw.lab.device('pdu')!.sim.commands.filter((c) => c.action === 'off')).toHaveLength(1)
    const intents = (await journal(g.gw)).filter((r) => r.t === 'intent')
    expect(intents).toHaveLength(1)
  })

  it('concurrent retries with one key join one operation', async () => {
    g = await startApi({
      devices: { pdu: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 2, transitionDelay: '100ms' } },
      nodes: { n1: { plugs: ['pdu:1'] } },
    })
    const key = { 'idempotency-key': 'same' }
    const rs = await Promise.all(
      [1, 2, 3].map(() => post('/v1/nodes/n1/fence', { action: 'off' }, 'fencer', key)),
    )
    expect(new Set(rs.map((r) => r.json().operation.id)).size).toBe(1)
    expect(g.gw.lab.device('pdu')!.sim.commands).toHaveLength(1)
  })

  it('the same key for another request is refused; another token has its own keys', async () => {
    g = await startApi()
    const key = { 'idempotency-key': 'k' }
    await post('/v1/nodes/n1/power', { action: 'off' }, 'operator', key)
    const other = await post('/v1/nodes/n1/power', { action: 'on' }, 'operator', key)
    expect(other.statusCode).toBe(400)
    expect(other.json()).toMatchObject({ code: 'BAD_REQUEST', field: 'headers.idempotency-key' })
    const fencer = await post('/v1/nodes/n1/power', { action: 'on' }, 'fencer', key)
    expect(fencer.statusCode).toBe(200)
    expect(g.gw.lab.device('pdu')!.sim.state('1')).toBe('on')
  })

  it('a refused request does not pin its key: the retry is judged afresh', async () => {
    g = await startApi({ engine: { fenceHold: '30s' } })
    await post('/v1/nodes/n1/fence', { action: 'off' }, 'fencer')
    const key = { 'idempotency-key': 'after-hold' }
    expect((await post('/v1/nodes/n1/power', { action: 'on' }, 'operator', key)).statusCode).toBe(409)
    expect((await post('/v1/nodes/n1/power', { action: 'on' }, 'operator', key)).statusCode).toBe(409)
  })

  it('a key longer than 200 characters is refused', async () => {
    g = await startApi()
    const r = await post('/v1/nodes/n1/power', { action: 'off' }, 'operator', {
      'idempotency-key': 'k'.repeat(201),
    })
    expect(r.statusCode).toBe(400)
    expect(r.json().field).toBe('headers.idempotency-key')
  })
})

describe('wait=false', () => {
  it('202 with a running operation, then GET /v1/operations/{id} until it ends', async () => {
    g = await startApi({
      devices: { pdu: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 2, transitionDelay: '200ms' } },
      nodes: { n1: { plugs: ['pdu:1'] } },
    })
    const r = await post('/v1/nodes/n1/power?wait=false', { action: 'off' })
    expect(r.statusCode).toBe(202)
    const op = r.json().operation
    expect(op).toMatchObject({ status: 'running', results: [], nodes: ['n1'] })
    let last = op
    for (let i = 0; i < 100 && last.status === 'running'; i++) {
      await new Promise((res) => setTimeout(res, 50))
      const q = await g.app.inject({
        method: 'GET',
        url: `/v1/operations/${op.id}`,
        headers: bearer('viewer'),
      })
      expect(q.statusCode).toBe(200)
      last = q.json().operation
    }
    expect(last).toMatchObject({ id: op.id, status: 'succeeded', results: [{ node: 'n1', state: 'off' }] })
    expect(g.gw.lab.device('pdu')!.sim.state('1')).toBe('off')
  })

  it('an unknown operation is 404 UNKNOWN_OPERATION', async () => {
    g = await startApi()
    const q = await g.app.inject({ method: 'GET', url: '/v1/operations/nope', headers: bearer('viewer') })
    expect(q.statusCode).toBe(404)
    expect(q.json()).toMatchObject({ code: 'UNKNOWN_OPERATION' })
  })
})

describe('simulated', () => {
  it('every answer says simulated, in the body and a header', async () => {
    g = await startApi({ extra: { simulated: true } })
    const h = await g.app.inject({ method: 'GET', url: '/healthz' })
    expect(h.json()).toEqual({ status: 'ok', simulated: true })
    expect(h.headers['fencegate-simulated']).toBe('true')
    const r = await post('/v1/nodes/n1/power', { action: 'off' })
    expect(r.json().simulated).toBe(true)
    expect(r.json().operation.simulated).toBe(true)
    expect(r.headers['fencegate-simulated']).toBe('true')
    const e = await post('/v1/nodes/n1/power', {})
    expect(e.json().simulated).toBe(true)
    expect(e.headers['fencegate-simulated']).toBe('true')
  })

  it('not simulated: false, and no header', async () => {
    g = await startApi()
    const r = await g.app.inject({ method: 'GET', url: '/v1/devices', headers: bearer('viewer') })
    expect(r.json().simulated).toBe(false)
    expect(r.headers['fencegate-simulated']).toBeUndefined()
  })
})
