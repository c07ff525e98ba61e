import { spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { resolveToken, resolveUrl } from '../../src/cli/settings.js'
import { closedPort } from '../helpers/net.js'
import { capture, run, tempDir } from './helpers.js'

const tmp = tempDir()
afterAll(() => tmp.remove())

function home(name: string, files: Record<string, [string, number]> = {}): string {
  const h = path.join(tmp.dir, name)
  mkdirSync(path.join(h, '.config', 'fencegate'), { recursive: true })
  for (const [f, [text, mode]] of Object.entries(files))
    writeFileSync(path.join(h, '.config', 'fencegate', f), text, { mode })
  return h
}

describe('where the CLI finds the gateway and its token', () => {
  it('url: --url, else FENCEGATE_URL, else ~/.config/fencegate/url, else the default', () => {
    const h = home('u', { url: ['http://127.0.0.1:9999\n', 0o600] })
    const io = (env: Record<string, string> = {}, hm = h) => capture({ env, home: hm }).io
    expect(resolveUrl(io({ FENCEGATE_URL: 'http://e:1' }), 'http://flag:2/')).toBe('http://flag:2')
    expect(resolveUrl(io({ FENCEGATE_URL: 'http://e:1' }), undefined)).toBe('http://e:1')
    expect(resolveUrl(io(), undefined)).toBe('http://127.0.0.1:9999')
    expect(resolveUrl(io({}, path.join(tmp.dir, 'nohome')), undefined)).toBe('http://127.0.0.1:8443')
  })

  it('token: FENCEGATE_TOKEN, else --token-file, else ~/.config/fencegate/token', () => {
    const h = home('t', { token: ['from-home\n', 0o600] })
    const f = path.join(tmp.dir, 'tokfile')
    writeFileSync(f, 'from-file\n', { mode: 0o600 })
    const io = (env: Record<string, string> = {}) => capture({ env, home: h }).io
    expect(resolveToken(io({ FENCEGATE_TOKEN: 'from-env' }), f)).toBe('from-env')
    expect(resolveToken(io(), f)).toBe('from-file')
    expect(resolveToken(io(), undefined)).toBe('from-home')
    expect(resolveToken(capture({ home: path.join(tmp.dir, 'nohome') }).io, undefined)).toBeUndefined()
  })

  it('a token file others can read is refused, naming the file and the fix', () => {
    const f = path.join(tmp.dir, 'open-token')
    writeFileSync(f, 'secret\n', { mode: 0o644 })
    expect(() => resolveToken(capture().io, f)).toThrow(
      /open-token is readable by group or others \(mode 644\); chmod 600/,
    )
    const h = home('open', { token: ['secret\n', 0o640] })
    expect(() => resolveToken(capture({ home: h }).io, undefined)).toThrow(/mode 640/)
  })

  it('an empty token file is refused', () => {
    const f = path.join(tmp.dir, 'empty-token')
    writeFileSync(f, '\n', { mode: 0o600 })
    expect(() => resolveToken(capture().io, f)).toThrow(/is empty/)
  })

  it('no gateway listening: exit 1, one line that says what to do', async () => {
    const port = await closedPort()
    const r = await run(['status', 'n1', '--url', `http://127.0.0.1:${port}`])
    expect(r.code).toBe(1)
    expect(r.err).toBe(
      `fencegate: cannot reach the gateway at http://127.0.0.1:${port}: connection refused (is fencegate running?)\n`,
    )
  })

  it('a gateway that never accepts the connection: the same 2 s connect bound and words as the agent', async () => {
    // a listening socket that never accepts, its accept queue full: further SYNs are dropped
    const py = spawn('python3', [
      '-c',
      'import socket,sys,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(120)',
    ])
    const fill: net.Socket[] = []
    try {
      const port = await new Promise<number>((resolve, reject) => {
        py.stdout.once('data', (d) => resolve(Number(String(d).trim())))
        py.once('error', reject)
      })
      for (let i = 0; i < 3; i++) fill.push(net.connect(port, '127.0.0.1').on('error', () => {}))
      await new Promise((r) => setTimeout(r, 200))
      const t0 = performance.now()
      const r = await run(['status', 'n1', '--url', `http://127.0.0.1:${port}`])
      const ms = performance.now() - t0
      expect(r.code).toBe(1)
      expect(r.err).toBe(
        `fencegate: cannot reach the gateway at http://127.0.0.1:${port}: no connection within 2s (connect timed out)\n`,
      )
      // the connect bound ended it, not undici's 10 s default nor the 60 s read deadline
      expect(ms).toBeLessThan(9_000)
    } finally {
      for (const s of fill) s.destroy()
      py.kill()
    }
  })
})
