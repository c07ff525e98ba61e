import { execFileSync } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closedPort } from '../helpers/net.js'
import { buildAgent, runAgent } from './harness.js'

/**
 * A dead gateway is a fast, clear failure: Pacemaker kills the agent only at its own deadline
 * (60 s and more), and every second spent there delays the next fencing level.
 */
const NS = `fgag-bh-${process.pid}`
const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' })
let dir: string
let token: string

beforeAll(() => {
  buildAgent()
  dir = mkdtempSync(path.join(tmpdir(), 'fgag-dead-'))
  token = path.join(dir, 'token')
  writeFileSync(token, 'some-token\n', { mode: 0o600 })
  chmodSync(token, 0o600)
  // A network namespace where 10.254.77.2 is a black hole: a static neighbour entry sends the
  // SYN out of a veth whose peer has no address, so nothing ever answers (no RST, no ICMP).
  ip('netns', 'add', NS)
  ip('-n', NS, 'link', 'set', 'lo', 'up')
  ip('-n', NS, 'link', 'add', 'fgagv0', 'type', 'veth', 'peer', 'name', 'fgagv1')
  ip('-n', NS, 'addr', 'add', '10.254.77.1/24', 'dev', 'fgagv0')
  ip('-n', NS, 'link', 'set', 'fgagv0', 'up')
  ip('-n', NS, 'link', 'set', 'fgagv1', 'up')
  ip(
    '-n',
    NS,
    'neigh',
    'add',
    '10.254.77.2',
    'lladdr',
    '02:00:00:00:77:02',
    'dev',
    'fgagv0',
    'nud',
    'permanent',
  )
}, 120_000)

afterAll(() => {
  try {
    ip('netns', 'del', NS)
  } catch {}
  rmSync(dir, { recursive: true, force: true })
})

const inNs = ['ip', 'netns', 'exec', NS]

describe('a dead gateway', () => {
  it('nothing listening: connection refused, said so, exit 1', async () => {
    const port = await closedPort()
    for (const action of ['off', 'reboot', 'status', 'monitor']) {
      const r = await runAgent({
        stdin: { action, plug: 'node1', url: `http://127.0.0.1:${port}`, token_file: token },
      })
      expect(r.code).toBe(1)
      expect(r.stdout).toBe('')
      expect(r.stderr).toBe(
        `Failed: cannot reach the gateway at http://127.0.0.1:${port}: connection refused (is fencegate running?)\n`,
      )
    }
  })

  it.each([
    {
      what: 'a black-holed address',
      url: 'http://10.254.77.2:8443',
      said: 'cannot reach the gateway at http://10.254.77.2:8443: no connection within 1s (connect timed out)',
    },
    {
      what: 'two black-holed replicas (each its own connect_timeout, one line naming both)',
      url: 'http://10.254.77.2:8443,http://10.254.77.2:9443',
      said:
        'GET /v1/nodes?targets=node1: no gateway of 2 could take it: ' +
        'cannot reach the gateway at http://10.254.77.2:8443: no connection within 1s (connect timed out); ' +
        'cannot reach the gateway at http://10.254.77.2:9443: no connection within 1s (connect timed out)',
    },
  ])('$what: gives up at connect_timeout, with "timed out" for Pacemaker', async ({ url, said }) => {
    const r = await runAgent(
      {
        stdin: {
          action: 'off',
          plug: 'node1',
          url,
          token_file: token,
          connect_timeout: 1,
          power_timeout: 60,
        },
      },
      { prefix: inNs },
    )
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(`Failed: ${said}\n`)
    // it was the connect timeout that ended it, not the 60 s operation deadline
    expect(r.ms).toBeLessThan(60_000)
  })

  it('no route to the gateway: an immediate, clear failure', async () => {
    const r = await runAgent(
      { stdin: { action: 'status', plug: 'node1', url: 'http://10.253.0.9:8443', token_file: token } },
      { prefix: inNs },
    )
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(
      'Failed: cannot reach the gateway at http://10.253.0.9:8443: no route to the gateway (ENETUNREACH)\n',
    )
  })

  it('a server that accepts and never answers: read-only calls end at read_timeout, even before off', async () => {
    const sockets = new Set<net.Socket>()
    const server = net.createServer((s) => sockets.add(s)) // reads nothing, answers nothing
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const { port } = server.address() as net.AddressInfo
    try {
      for (const [action, path] of [
        ['status', '/v1/nodes/node1'],
        ['off', '/v1/nodes?targets=node1'],
      ] as const) {
        const r = await runAgent({
          stdin: {
            action,
            plug: 'node1',
            url: `http://127.0.0.1:${port}`,
            token_file: token,
            power_timeout: 60,
            read_timeout: 1,
          },
        })
        expect(r.code).toBe(1)
        expect(r.stderr).toBe(
          `Failed: GET ${path}: timed out after 1s waiting for the gateway at http://127.0.0.1:${port} to answer (read_timeout)\n`,
        )
        // the read bound ended it, well before power_timeout (60 s) + the grace
        expect(r.ms).toBeLessThan(30_000)
      }
    } finally {
      for (const s of sockets) s.destroy()
      await new Promise<void>((r) => server.close(() => r()))
    }
  })

  it('a server that accepts and never answers: bounded by power_timeout plus the grace', async () => {
    const sockets = new Set<net.Socket>()
    const server = net.createServer((s) => sockets.add(s)) // reads nothing, answers nothing
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const { port } = server.address() as net.AddressInfo
    try {
      const r = await runAgent({
        stdin: {
          action: 'status',
          plug: 'node1',
          url: `http://127.0.0.1:${port}`,
          token_file: token,
          power_timeout: 1,
        },
      })
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(
        new RegExp(
          `^Failed: GET /v1/nodes/node1: timed out after [\\d.]+s waiting for the gateway at http://127.0.0.1:${port} to answer\n$`,
        ),
      )
    } finally {
      for (const s of sockets) s.destroy()
      await new Promise<void>((r) => server.close(() => r()))
    }
  })
})
