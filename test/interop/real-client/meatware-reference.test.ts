import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type RunningServer, startServer } from '../../../src/api/server.js'
import { tokenHash } from '../../../src/cli/commands/token.js'
import { main } from '../../../src/cli/run.js'
import { loadConfig } from '../../../src/config/config.js'
import { type LabGateway, capture, labWithConfig, run } from '../../cli/helpers.js'

/**
 * Meatware, the reference and ours side by side (docs/meatware.md).
 *
 * cluster-glue: `stonith -t meatware -T off NODE` makes a FIFO `/run/meatware.NODE` (HA_VARRUNDIR)
 * and blocks reading it; `meatclient -c NODE` opens it (O_NONBLOCK: it fails at once when nobody
 * waits), prints a WARNING and `PROCEED? [yN]`, reads one word from stdin (no terminal needed) and
 * on `y` writes `meatware reply NODE`: the stonith command then exits 0. On anything else it says
 * `operation canceled` (exit 3) and closes the FIFO, and the waiting stonith reads EOF and fails
 * (exit 5, S_RESETFAIL). With nothing waiting meatclient exits 4 (S_BADHOST).
 *
 * fencegate: a node with levels `[[dead device], manual]`; `fencegate fence` waits at the manual
 * level (status shows it); `fencegate confirm NODE --reason ...` asks for the node name, and the
 * right name completes the fence as `confirmed-by-operator`. A wrong answer confirms nothing —
 * and, unlike meatclient's cancel, does not fail the waiting fence: it keeps waiting for a
 * confirmation within its deadline. With nothing waiting, confirm exits 1 (NOTHING_TO_CONFIRM).
 */

/** Node names unique to this run: the FIFO path is global to the machine. */
const tag = `fgmeat${process.pid}`
const children = new Set<ChildProcess>()
afterEach(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  children.clear()
})
// a failed meatware fence leaves its FIFO behind
afterAll(() => {
  for (const f of readdirSync('/run').filter((n) => n.startsWith(`meatware.${tag}`)))
    rmSync(`/run/${f}`, { force: true })
})

/** `stonith -t meatware -T off NODE`, running; `done` resolves with its exit code. */
function meatwareFence(node: string): { done: Promise<number | null> } {
  const c = spawn('stonith', ['-t', 'meatware', `hostlist=${node}`, '-T', 'off', node], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.add(c)
  return { done: new Promise((resolve) => c.on('close', (code) => resolve(code))) }
}

/** `meatclient -c NODE` answering `answer` on its stdin. */
function meatclient(node: string, answer: string): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const c = execFile('meatclient', ['-c', node], { timeout: 10_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0
      resolve({ code, out: stdout, err: stderr })
    })
    // with nothing waiting meatclient exits before reading: the answer then meets a closed pipe
    c.stdin!.on('error', () => {})
    c.stdin!.end(`${answer}\n`)
  })
}

/** Wait until the meatware plugin's FIFO is there (the fence is waiting for a person). */
async function fifoWaiting(node: string): Promise<boolean> {
  const fifo = `/run/meatware.${node}`
  for (let i = 0; i < 200; i++) {
    if (existsSync(fifo) && statSync(fifo).isFIFO()) return true
    await new Promise((r) => setTimeout(r, 25))
  }
  return false
}

describe("the reference: cluster-glue's meatware plugin and meatclient", () => {
  it('meatclient asks; y completes the waiting stonith (exit 0)', async () => {
    const node = `${tag}a`
    const fence = meatwareFence(node)
    expect(await fifoWaiting(node)).toBe(true)
    const mc = await meatclient(node, 'y')
    expect(mc.out).toContain(`If node "${node}" has not been manually power-cycled`)
    expect(mc.out).toContain('PROCEED? [yN]')
    expect(mc.out).toContain('Meatware_client: reset confirmed.')
    expect(mc.code).toBe(0)
    expect(await fence.done).toBe(0)
  }, 20_000)

  it('any other answer cancels (exit 3), and the waiting stonith then fails (exit 5)', async () => {
    const node = `${tag}b`
    const fence = meatwareFence(node)
    expect(await fifoWaiting(node)).toBe(true)
    const mc = await meatclient(node, 'n')
    expect(mc.out).toContain('Meatware_client: operation canceled.')
    expect(mc.code).toBe(3)
    expect(await fence.done).toBe(5)
  }, 20_000)

  it('with nothing waiting, meatclient fails (exit 4) without asking', async () => {
    const mc = await meatclient(`${tag}none`, 'y')
    expect(mc.code).toBe(4)
    expect(mc.err).toContain('Meatware_IPC failed')
    expect(mc.out).not.toContain('PROCEED')
  }, 20_000)
})

describe('the same through fencegate: levels [[dead device], manual] and fencegate confirm', () => {
  const TOKEN = 'meatware-fencer-token-0123456789abcdef'
  let g: LabGateway
  let server: RunningServer
  beforeAll(async () => {
    g = await labWithConfig({
      devices: { dead: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 3 } },
      nodes: {
        db1: { levels: [['dead:1'], 'manual'] },
        db2: { levels: [['dead:2'], 'manual'] },
        db3: { levels: [['dead:3'], 'manual'] },
      },
      // nothing listens on port 1: the device is unreachable, every level-1 attempt fails
      driverOverrides: { dead: { port: 1, connectTimeout: '200ms' } },
      extra: { auth: { tokens: [{ name: 'alice', role: 'fencer', hash: tokenHash(TOKEN) }] } },
    })
    server = await startServer({ config: loadConfig(g.configFile), listen: { port: 0 } })
  })
  afterAll(async () => {
    await server?.close()
    await g?.stop()
  })

  const env = () => ({ env: { FENCEGATE_TOKEN: TOKEN }, home: g.dir })
  const url = () => ['--url', server.url]

  /** `fencegate fence NODE` as the cluster would run it, still waiting. */
  function fence(node: string) {
    const c = capture(env())
    const done = main(['fence', node, '--timeout', '60s', ...url()], c.io)
    return { done, out: c.out, err: c.err }
  }

  /** `fencegate confirm NODE --reason ...`, typing `typed` at its question. */
  async function confirm(node: string, typed: string) {
    const c = capture(env())
    const asked: string[] = []
    c.io.readLine = async (prompt) => {
      asked.push(prompt)
      return typed
    }
    const code = await main(['confirm', node, '--reason', 'pulled both cords, rack 4', ...url()], c.io)
    return { code, out: c.out(), err: c.err(), asked }
  }

  /** Wait until `fencegate status NODE` shows the fence waiting for a person (the FIFO's analogue). */
  async function waiting(node: string): Promise<string> {
    let out = ''
    for (let i = 0; i < 200; i++) {
      out = (await run(['status', node, ...url()], env())).out
      if (out.includes('waiting for operator confirmation')) return out
      await new Promise((r) => setTimeout(r, 50))
    }
    return out
  }

  it('confirm asks; the node name completes the waiting fence (exit 0), confirmed-by-operator', async () => {
    const f = fence('db1')
    expect(await waiting('db1')).toMatch(
      /db1: every device failed; fence \S+ is waiting for operator confirmation/,
    )
    const c = await confirm('db1', 'db1')
    expect(c.asked).toEqual(['Type the node name (db1) to confirm it is off: '])
    expect(c.err).toContain('data will be corrupted')
    expect(c.out).toContain('confirmed-by-operator')
    expect(c.code).toBe(0)
    expect(await f.done).toBe(0)
    expect(f.out()).toContain('confirmed-by-operator')
    const h = await run(['history', '--node', 'db1', ...url()], env())
    expect(h.out).toMatch(/db1\s+fence\s+off\s+confirmed-by-operator/)
  }, 30_000)

  it('any other answer confirms nothing (exit 1); unlike meatclient, the fence keeps waiting', async () => {
    const f = fence('db2')
    expect(await waiting('db2')).toContain('waiting for operator confirmation')
    const wrong = await confirm('db2', 'y')
    expect(wrong.err).toContain('not confirmed')
    expect(wrong.code).toBe(1)
    // meatware's cancel fails the waiting stonith (exit 5); ours still waits for a person
    expect(await waiting('db2')).toContain('waiting for operator confirmation')
    const right = await confirm('db2', 'db2')
    expect(right.code).toBe(0)
    expect(await f.done).toBe(0)
  }, 30_000)

  it('with nothing waiting (and no failed fence), confirm fails (exit 1) after asking', async () => {
    // a node nobody fenced: NOTHING_TO_CONFIRM; the question comes first (it is local to the CLI)
    const c = await confirm('db3', 'db3')
    expect(c.code).toBe(1)
    expect(c.err).toContain('NOTHING_TO_CONFIRM')
  }, 30_000)
})
