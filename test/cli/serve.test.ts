import { readFileSync, statSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/config.js'
import { Engine } from '../../src/engine/engine.js'
import { main } from '../../src/cli/run.js'
import { tokenHash } from '../../src/cli/commands/token.js'
import { capture, labWithConfig, run, tempDir } from './helpers.js'

const tmp = tempDir()
afterAll(() => tmp.remove())

/** Start `fencegate serve …` in-process; resolve once it has said where it listens. */
async function serve(args: string[], opts: Parameters<typeof capture>[0], logLevel = 'silent') {
  const c = capture(opts)
  const done = main(['serve', '--log-level', logLevel, ...args], c.io)
  for (let i = 0; i < 400 && !/http:\/\/\S+/.test(c.out()); i++) {
    const early = await Promise.race([done, new Promise((r) => setTimeout(() => r(undefined), 25))])
    if (early !== undefined) throw new Error(`serve exited ${early}: ${c.err()}`)
  }
  const url = /(http:\/\/[^\s)]+)/.exec(c.out())![1]!
  return { c, done, url }
}

describe('fencegate serve --config', () => {
  it('serves the config, answers the CLI, and on stop releases the journal lock', async () => {
    const token = 'serve-test-token-0123456789abcdefghij'
    const g = await labWithConfig({
      devices: { d1: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 2 } },
      nodes: { n1: { plugs: ['d1:1'] }, n2: { plugs: ['d1:2'] } },
      extra: { auth: { tokens: [{ name: 't', role: 'operator', hash: tokenHash(token) }] } },
    })
    try {
      const s = await serve(['--config', g.configFile, '--listen', '127.0.0.1:0'], { home: g.dir })
      expect(s.c.out()).toMatch(
        /^fencegate: listening on http:\/\/127\.0\.0\.1:\d+ \(1 devices, 2 nodes\)\n$/,
      )
      const r = await run(['status', 'n[1-2]', '--url', s.url, '--json'], { env: { FENCEGATE_TOKEN: token } })
      expect(r.code).toBe(0)
      expect(JSON.parse(r.out).simulated).toBe(false)
      // a second gateway on the same journal refuses to start, saying why
      const second = await run([
        'serve',
        '--config',
        g.configFile,
        '--listen',
        '127.0.0.1:0',
        '--log-level',
        'silent',
      ])
      expect(second.code).toBe(1)
      expect(second.err).toMatch(/JOURNAL_LOCKED/)
      s.c.stop()
      expect(await s.done).toBe(0)
      // the lock is released: an engine can open the journal again
      const engine = await Engine.create(loadConfig(g.configFile))
      await engine.close()
      const gone = await run(['status', 'n1', '--url', s.url], { env: { FENCEGATE_TOKEN: token } })
      expect(gone.code).toBe(1)
      expect(gone.err).toMatch(/connection refused \(is fencegate running\?\)/)
    } finally {
      await g.stop()
    }
  })

  it('--listen on an address other than loopback without tls is refused, saying why', async () => {
    const g = await labWithConfig({
      devices: { d1: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 1 } },
      nodes: { n1: { plugs: ['d1:1'] } },
    })
    try {
      const r = await run([
        'serve',
        '--config',
        g.configFile,
        '--listen',
        '0.0.0.0:0',
        '--log-level',
        'silent',
      ])
      expect(r.code).toBe(1)
      expect(r.out).toBe('')
      expect(r.err).toMatch(
        /listen: plain HTTP on 0\.0\.0\.0.*tokens would cross the network in clear.*allowPlainHttp: true/,
      )
    } finally {
      await g.stop()
    }
  })

  it('on stop, an operation in flight finishes and its caller gets the answer', async () => {
    const token = 'drain-test-token-0123456789abcdefghij'
    const g = await labWithConfig({
      devices: { d1: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 1 } },
      nodes: { n1: { plugs: ['d1:1'] } },
      extra: { auth: { tokens: [{ name: 't', role: 'operator', hash: tokenHash(token) }] } },
    })
    try {
      const s = await serve(['--config', g.configFile, '--listen', '127.0.0.1:0'], { home: g.dir }, 'info')
      // every answer of the device held back: the off takes a while
      g.lab.device('d1')!.sim.faults.add({ type: 'delay', ms: 300 })
      const off = run(['off', 'n1', '--json', '--url', s.url], { env: { FENCEGATE_TOKEN: token } })
      await new Promise((r) => setTimeout(r, 150))
      s.c.stop()
      const r = await off
      expect(r.err).toBe('')
      expect(r.code).toBe(0)
      expect(JSON.parse(r.out).operation.results[0]).toMatchObject({ outcome: 'success', state: 'off' })
      expect(await s.done).toBe(0)
      // the finished request's keep-alive connection did not hold the stop until the bound
      expect(s.c.err()).not.toMatch(/did not finish in time/)
      expect(s.c.err()).toMatch(/"msg":"stopped"/)
    } finally {
      await g.stop()
    }
  })

  it('a bad config: FILE:LINE problems, exit 1, nothing listening', async () => {
    const g = await labWithConfig({ devices: {}, nodes: { n1: { plugs: ['nope:1'] } } })
    try {
      const r = await run(['serve', '--config', g.configFile, '--log-level', 'silent'])
      expect(r.code).toBe(1)
      expect(r.err).toMatch(new RegExp(`^${g.configFile}:\\d+: nodes.n1.plugs\\[0\\]: no device 'nope'`))
    } finally {
      await g.stop()
    }
  })
})

describe('fencegate serve --demo', () => {
  it('a generated token saved 0600 with the URL; status over the demo nodes finds them', async () => {
    const home = path.join(tmp.dir, 'home1')
    const s = await serve(['--demo', '--listen', '127.0.0.1:0'], { home })
    try {
      const banner = s.c.out()
      expect(banner).toMatch(/simulated/)
      // the one way to run the CLI that works after the quick start (README, --help, this line)
      expect(banner).toMatch(
        /\n {2}try: {3}npx fencegate status 'demo-\[1-4\],[^']*' {4}npx fencegate fence demo-3 {4}npx fencegate history\n/,
      )
      const tokenFile = path.join(home, '.config', 'fencegate', 'token')
      const token = readFileSync(tokenFile, 'utf8').trim()
      expect(statSync(tokenFile).mode & 0o777).toBe(0o600)
      expect(banner).toContain(token) // printed once, at start
      expect(readFileSync(path.join(home, '.config', 'fencegate', 'url'), 'utf8').trim()).toBe(s.url)
      // no --url, no token in the environment: the CLI finds both
      const r = await run(['status', 'demo-[1-4]', '--json'], { home })
      expect(r.code).toBe(0)
      const j = JSON.parse(r.out)
      expect(j.simulated).toBe(true)
      expect(j.nodes.map((n: { name: string }) => n.name)).toEqual(['demo-1', 'demo-2', 'demo-3', 'demo-4'])
      expect(j.nodes.every((n: { state: string }) => n.state === 'on')).toBe(true)
      // the demo's shapes: a node with two plugs, a node with two levels
      const list = JSON.parse((await run(['list', '--json'], { home })).out).nodes as {
        name: string
        levels: unknown[][]
      }[]
      expect(list.every((n) => n.name.startsWith('demo-'))).toBe(true)
      expect(list.some((n) => n.levels.length === 1 && n.levels[0]!.length === 2)).toBe(true)
      expect(list.some((n) => n.levels.length === 2)).toBe(true)
      // and it fences
      const f = await run(['fence', 'demo-1', '--json'], { home })
      expect(f.code).toBe(0)
      expect(JSON.parse(f.out).operations[0]).toMatchObject({ simulated: true, status: 'succeeded' })
      // the journal is in the state dir
      expect(
        statSync(path.join(home, '.local', 'state', 'fencegate', 'demo-journal.jsonl')).size,
      ).toBeGreaterThan(0)
    } finally {
      s.c.stop()
      expect(await s.done).toBe(0)
    }
  })

  it('a port already taken: exit 1 saying so, and the demo lab is stopped', async () => {
    const home = path.join(tmp.dir, 'home3')
    const busy = net.createServer()
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r))
    const port = (busy.address() as net.AddressInfo).port
    try {
      const r = await run(['serve', '--demo', '--listen', `127.0.0.1:${port}`, '--log-level', 'silent'], {
        home,
      })
      expect(r.code).toBe(1)
      expect(r.err).toBe(
        `fencegate: cannot listen on 127.0.0.1:${port}: address in use (another gateway? use --listen HOST:PORT)\n`,
      )
      // nothing left behind: the journal lock is free for the next demo
      const again = await serve(['--demo', '--listen', '127.0.0.1:0'], { home })
      again.c.stop()
      expect(await again.done).toBe(0)
    } finally {
      busy.close()
    }
  })

  it('FENCEGATE_TOKEN is the demo token when set (no token file written)', async () => {
    const home = path.join(tmp.dir, 'home2')
    const token = 'my-own-demo-token-0123456789abcdef'
    const s = await serve(['--demo', '--listen', '127.0.0.1:0'], { home, env: { FENCEGATE_TOKEN: token } })
    try {
      expect(s.c.out()).not.toContain(token)
      expect(() => statSync(path.join(home, '.config', 'fencegate', 'token'))).toThrow(/ENOENT/)
      const ok = await run(['status', 'demo-1'], { home, env: { FENCEGATE_TOKEN: token } })
      expect(ok.code).toBe(0)
      const bad = await run(['status', 'demo-1'], { home, env: { FENCEGATE_TOKEN: 'wrong' } })
      expect(bad.code).toBe(1)
      expect(bad.err).toMatch(/UNAUTHORIZED/)
    } finally {
      s.c.stop()
      expect(await s.done).toBe(0)
    }
  })
})
