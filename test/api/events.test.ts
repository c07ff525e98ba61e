/**
 * GET /v1/events (server-sent events) over a real socket: what a token is told, and what it is
 * not told (its node allow-list), as nodes, devices and operations change. Also the dashboard's
 * page and assets under / (headers; 503 when not built).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/api/app.js'
import { DASHBOARD_CSP } from '../../src/api/dashboard.js'
import { type ApiGateway, TOKENS, bearer, startApi } from './helpers.js'

interface Ev {
  event: string
  data: Record<string, unknown>
}

/** An open event stream: every event so far, and a wait for one that matches. */
async function subscribe(base: string, token: string) {
  const ctl = new AbortController()
  const res = await fetch(`${base}/v1/events`, {
    headers: { authorization: `Bearer ${token}` },
    signal: ctl.signal,
  })
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
  const events: Ev[] = []
  const waiters = new Set<() => void>()
  void (async () => {
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
    let buf = ''
    try {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) return
        buf += value
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const block = buf.slice(0, i)
          buf = buf.slice(i + 2)
          const event = /^event: (.*)$/m.exec(block)?.[1]
          const data = /^data: (.*)$/m.exec(block)?.[1]
          if (event && data) events.push({ event, data: JSON.parse(data) })
          for (const w of waiters) w()
        }
      }
    } catch {
      // aborted
    }
  })()
  return {
    events,
    close: () => ctl.abort(),
    /** The first event (from the start of the stream) that matches, within 10 s. */
    until(match: (e: Ev) => boolean): Promise<Ev> {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find(match)
          if (found) {
            waiters.delete(check)
            clearTimeout(timer)
            resolve(found)
          }
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`no matching event in 10 s; got ${events.map((e) => e.event).join(', ')}`))
        }, 10_000)
        waiters.add(check)
        check()
      })
    },
  }
}

const op = (e: Ev) => e.data.operation as { id: string; nodes: string[]; status: string; results: unknown[] }
/** Matches the event of operation `id` at `phase`. */
const phaseOf = (id: string, phase: string) => (e: Ev) =>
  e.event === 'operation' && op(e).id === id && e.data.phase === phase

describe('GET /v1/events', () => {
  let api: ApiGateway
  let base: string

  beforeAll(async () => {
    api = await startApi()
    base = await api.app.listen({ host: '127.0.0.1', port: 0 })
  })
  afterAll(async () => {
    await api?.stop()
  })
  /** An operator powers a node off (the answer once the operation has ended). */
  const powerOff = (node: string) =>
    api.app.inject({
      method: 'POST',
      url: `/v1/nodes/${node}/power`,
      headers: bearer('operator'),
      payload: { action: 'off' },
    })

  it('needs a token (401, JSON error, not a stream)', async () => {
    const res = await fetch(`${base}/v1/events`)
    expect(res.status).toBe(401)
    expect(((await res.json()) as { code: string }).code).toBe('UNAUTHORIZED')
  })

  it('tells a viewer of an operation as it starts, progresses and ends, and of the node it switched', async () => {
    const s = await subscribe(base, TOKENS.viewer)
    try {
      expect((await s.until((e) => e.event === 'hello')).data).toMatchObject({
        name: 'viewer',
        role: 'viewer',
      })
      const r = await powerOff('n1')
      expect(r.statusCode).toBe(200)
      const id = r.json().operation.id as string
      const started = await s.until(phaseOf(id, 'started'))
      expect(op(started).status).toBe('running')
      const progress = await s.until(phaseOf(id, 'progress'))
      expect(op(progress).results).toMatchObject([{ node: 'n1', outcome: 'success' }])
      const finished = await s.until(phaseOf(id, 'finished'))
      expect(op(finished).status).toBe('succeeded')
      const node = await s.until((e) => e.event === 'node' && e.data.name === 'n1' && e.data.state === 'off')
      expect(node.data.plugs).toMatchObject([{ device: 'pdu', plug: '1', state: 'off' }])
    } finally {
      s.close()
    }
  })

  it('leaves out nodes and operations outside the token allow-list', async () => {
    const s = await subscribe(base, TOKENS.lab) // operator allowed n1 and dual only
    try {
      await s.until((e) => e.event === 'hello')
      const other = await powerOff('lv')
      expect(other.json().operation.status).toBe('succeeded')
      const mine = await powerOff('dual')
      const id = mine.json().operation.id as string
      await s.until(phaseOf(id, 'finished'))
      await s.until((e) => e.event === 'node' && e.data.name === 'dual' && e.data.state === 'off')
      const leaked = s.events.filter(
        (e) =>
          (e.event === 'node' && e.data.name === 'lv') ||
          (e.event === 'operation' && op(e).nodes.includes('lv')),
      )
      expect(leaked).toEqual([])
    } finally {
      s.close()
    }
  })

  it('tells of a device after a probe, and of a node fenced and on hold', async () => {
    const s = await subscribe(base, TOKENS.viewer)
    try {
      await s.until((e) => e.event === 'hello')
      const p = await api.app.inject({
        method: 'POST',
        url: '/v1/devices/pdu/probe',
        headers: bearer('operator'),
      })
      expect(p.statusCode).toBe(200)
      const dev = await s.until((e) => e.event === 'device' && e.data.id === 'pdu')
      expect(dev.data).toMatchObject({ state: 'ok', driver: expect.any(String) })
      const f = await api.app.inject({ method: 'POST', url: '/v1/nodes/n1/fence', headers: bearer('fencer') })
      expect(f.json().operation.status).toBe('succeeded')
      const held = await s.until((e) => e.event === 'node' && e.data.name === 'n1' && !!e.data.fenceHold)
      expect(Date.parse((held.data.fenceHold as { until: string }).until)).toBeGreaterThan(Date.now() - 5000)
      // and the listing says so too
      const list = await api.app.inject({ url: '/v1/nodes?targets=n1', headers: bearer('viewer') })
      expect(list.json().nodes[0].fenceHold.until).toEqual(expect.any(String))
    } finally {
      s.close()
    }
  })

  it('ends open streams when the gateway closes', async () => {
    const s = await subscribe(base, TOKENS.viewer)
    await s.until((e) => e.event === 'hello')
    const again = await startApi()
    const b2 = await again.app.listen({ host: '127.0.0.1', port: 0 })
    const s2 = await subscribe(b2, TOKENS.viewer)
    await s2.until((e) => e.event === 'hello')
    // close() would hang on an open stream if the plugin did not end it
    await again.stop()
    s2.close()
    s.close()
  })
})

describe('the dashboard under /', () => {
  it('serves the built page and assets with a CSP; 503 saying how to build when they are missing', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fencegate-dash-'))
    try {
      writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>t</title>')
      writeFileSync(path.join(dir, 'app.js'), 'export {}')
      const api = await startApi()
      try {
        const built = await buildApp({
          engine: api.gw.engine,
          config: api.gw.config,
          processMetrics: false,
          dashboard: { dir: `${dir}/` },
        })
        const page = await built.inject({ url: '/' })
        expect(page.statusCode).toBe(200)
        expect(page.headers['content-type']).toMatch(/^text\/html/)
        expect(page.headers['content-security-policy']).toBe(DASHBOARD_CSP)
        expect(DASHBOARD_CSP).toContain("script-src 'self'")
        const js = await built.inject({ url: '/assets/app.js' })
        expect(js.headers['content-type']).toMatch(/^text\/javascript/)
        const again = await built.inject({
          url: '/assets/app.js',
          headers: { 'if-none-match': js.headers.etag as string },
        })
        expect(again.statusCode).toBe(304)
        expect((await built.inject({ url: '/assets/nope.js' })).statusCode).toBe(404)
        await built.close()
        const bare = await buildApp({
          engine: api.gw.engine,
          config: api.gw.config,
          processMetrics: false,
          dashboard: { dir: `${dir}/missing/` },
        })
        const none = await bare.inject({ url: '/' })
        expect(none.statusCode).toBe(503)
        expect(none.body).toContain('npm run build')
        await bare.close()
      } finally {
        await api.stop()
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
