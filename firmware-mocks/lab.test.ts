import { afterEach, describe, expect, it } from 'vitest'
import { buildControlApi } from './control-api.js'
import { readLab } from './lab-file.js'
import { Lab } from './lab.js'

let lab: Lab | undefined
afterEach(async () => lab?.stop())

describe('lab', () => {
  it('validates a lab file and names each bad field', () => {
    const { problems } = readLab({
      control: '0.0.0.0:7700',
      devices: {
        d1: { kind: 'toaster' },
        d2: { kind: 'dummy', plugs: 0, transitionDelay: 'slow', bogus: 1 },
        '9x': { kind: 'dummy' },
      },
    })
    const text = problems.map((p) => `${p.path.join('.')}: ${p.message}`)
    expect(text).toContainEqual(expect.stringMatching(/^control: the control API listens on loopback only/))
    expect(text).toContainEqual(
      expect.stringMatching(/^devices\.d1\.kind: expected one of .*dummy.*, got 'toaster'/),
    )
    expect(text).toContainEqual(
      expect.stringMatching(/^devices\.d2\.plugs: expected an integer from 1 to 1024, got 0/),
    )
    expect(text).toContainEqual(expect.stringMatching(/^devices\.d2\.transitionDelay: expected a duration/))
    expect(text).toContainEqual('devices.d2.bogus: unknown field')
    expect(text).toContainEqual(expect.stringMatching(/^devices\.9x: device ids start with a letter/))
  })

  it('control API: read devices, set a physical state, inject and clear faults', async () => {
    const { lab: spec, problems } = readLab({
      devices: { d1: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 2 } },
    })
    expect(problems).toEqual([])
    lab = await Lab.start(spec)
    const app = buildControlApi(lab)
    const list = await app.inject({ method: 'GET', url: '/devices' })
    expect(list.json()[0]).toMatchObject({
      id: 'd1',
      kind: 'dummy',
      endpoint: expect.stringMatching(/^tcp:\/\/127\.0\.0\.1:\d+$/),
    })
    const put = await app.inject({ method: 'PUT', url: '/devices/d1/plugs/2', payload: { state: 'off' } })
    expect(put.statusCode).toBe(200)
    expect(lab.device('d1')!.sim.state('2')).toBe('off')
    const bad = await app.inject({
      method: 'PUT',
      url: '/devices/d1/plugs/2',
      payload: { state: 'sideways' },
    })
    expect(bad.statusCode).toBe(400)
    expect(
      (await app.inject({ method: 'PUT', url: '/devices/d1/plugs/9', payload: { state: 'on' } })).statusCode,
    ).toBe(404)
    expect((await app.inject({ method: 'GET', url: '/devices/nope' })).statusCode).toBe(404)
    const f = await app.inject({
      method: 'POST',
      url: '/devices/d1/faults',
      payload: { type: 'lie', count: 1 },
    })
    expect(f.statusCode).toBe(201)
    expect(lab.device('d1')!.sim.faults.list()).toEqual([{ type: 'lie', count: 1 }])
    expect(
      (await app.inject({ method: 'POST', url: '/devices/d1/faults', payload: { type: 'meteor' } }))
        .statusCode,
    ).toBe(400)
    await app.inject({ method: 'DELETE', url: '/devices/d1/faults' })
    expect(lab.device('d1')!.sim.faults.list()).toEqual([])
    await app.close()
  })
})
