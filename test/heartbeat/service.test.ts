import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import type { HeartbeatConfig } from '../../src/heartbeat/config.js'
import { HeartbeatService } from '../../src/heartbeat/service.js'

/**
 * A fence result belongs to the membership process that asked for it. Each process numbers its
 * fence requests from 1, so after a restart the old process's answer for its request 1 must not
 * resolve the new process's request 1 (another node): that would report a node fenced that no
 * engine has read back off.
 *
 * A stand-in membership process (no sockets): the first one asks to fence n2 and crashes; the
 * second asks to fence n3 and reports every fence-result it receives as a log line.
 */
const FAKE_WORKER = `
import { existsSync, writeFileSync } from 'node:fs'
process.once('message', (init) => {
  const mark = init.config.stateDir + '/started'
  const second = existsSync(mark)
  writeFileSync(mark, '')
  process.send({ type: 'ready', generation: second ? 2 : 1, uuid: '00' })
  process.send({ type: 'fence', id: 1, node: second ? 'n3' : 'n2', action: 'off' })
  if (!second) {
    setTimeout(() => process.exit(1), 100)
    return
  }
  process.on('message', (m) => {
    if (m.type === 'fence-result') process.send({ type: 'log', level: 'info', msg: 'fence-result', fields: m })
    if (m.type === 'stop') process.send({ type: 'stopped' })
  })
})
process.on('disconnect', () => process.exit(0))
`

/**
 * A stand-in membership process for replica mode: says whether it was told the gateway is a
 * replica, asks to fence n2 of generation 9, and reports the fence-result as a log line.
 */
const REPLICA_WORKER = `
process.once('message', (init) => {
  process.send({ type: 'ready', generation: 1, uuid: '00' })
  process.send({ type: 'log', level: 'info', msg: 'init', fields: { replicas: init.replicas === true } })
  process.send({ type: 'fence', id: 1, node: 'n2', action: 'off', generation: 9 })
  process.on('message', (m) => {
    if (m.type === 'fence-result') process.send({ type: 'log', level: 'info', msg: 'fence-result', fields: m })
    if (m.type === 'stop') process.send({ type: 'stopped' })
  })
})
process.on('disconnect', () => process.exit(0))
`

const dir = mkdtempSync(join(tmpdir(), 'fghb-restart-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (cond()) resolve()
      else if (Date.now() > end) reject(new Error(`timed out waiting for ${what}`))
      else setTimeout(tick, 20)
    }
    tick()
  })
}

function configIn(sub: string): HeartbeatConfig {
  const stateDir = join(dir, sub)
  mkdirSync(stateDir)
  const authKeyFile = join(stateDir, 'authkeys')
  writeFileSync(authKeyFile, 'auth 1\n1 sha1 test-key\n', { mode: 0o600 })
  return {
    node: 'n1',
    nodes: ['n1', 'n2', 'n3'],
    authKeyFile,
    stateDir,
    fence: { enabled: false },
  } as unknown as HeartbeatConfig
}

describe('heartbeat service', () => {
  it('gives up on a membership process that never gets ready', async () => {
    const worker = join(dir, 'silent.mjs')
    writeFileSync(worker, "process.on('disconnect', () => process.exit(0))\nsetInterval(() => {}, 1000)\n")
    await expect(
      HeartbeatService.start(configIn('silent'), { workerUrl: pathToFileURL(worker), startTimeoutMs: 500 }),
    ).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' })
  })

  it('hands a fence result only to the process that asked for it', async () => {
    const worker = join(dir, 'worker.mjs')
    writeFileSync(worker, FAKE_WORKER)
    const release = new Map<string, (r: { ok: boolean; error?: string }) => void>()
    const results: unknown[] = []
    const svc = await HeartbeatService.start(configIn('restart'), {
      workerUrl: pathToFileURL(worker),
      fence: (node) => new Promise((resolve) => release.set(node, resolve)),
      log: (_level, msg, fields) => {
        if (msg === 'fence-result') results.push(fields)
      },
    })
    try {
      // the first process crashed with its fence of n2 in flight; the second asks for n3
      await until('the restarted process to ask for n3', () => release.has('n3'))
      release.get('n2')!({ ok: true })
      release.get('n3')!({ ok: false, error: 'n3 still on' })
      await until('the result for n3', () => results.length > 0)
      // give a stray result time to arrive before judging
      await new Promise((r) => setTimeout(r, 200))
      expect(results).toEqual([{ type: 'fence-result', id: 1, ok: false, error: 'n3 still on' }])
    } finally {
      await svc.stop()
    }
  }, 20_000)

  it('replica mode: the membership process is told, the victim generation reaches the fence, `by` comes back', async () => {
    const worker = join(dir, 'replica.mjs')
    writeFileSync(worker, REPLICA_WORKER)
    const asked: unknown[] = []
    const logs: { msg: string; fields: unknown }[] = []
    const svc = await HeartbeatService.start(configIn('replica'), {
      workerUrl: pathToFileURL(worker),
      replicas: true,
      fence: async (node, action, generation) => {
        asked.push({ node, action, generation })
        return { ok: true, by: { replica: 'gw2', op: 'op-7' } }
      },
      log: (_level, msg, fields) => logs.push({ msg, fields }),
    })
    try {
      await until('the fence result', () => logs.some((l) => l.msg === 'fence-result'))
      expect(logs.find((l) => l.msg === 'init')?.fields).toEqual({ replicas: true })
      expect(asked).toEqual([{ node: 'n2', action: 'off', generation: 9 }])
      expect(logs.find((l) => l.msg === 'fence-result')?.fields).toEqual({
        type: 'fence-result',
        id: 1,
        ok: true,
        by: { replica: 'gw2', op: 'op-7' },
      })
    } finally {
      await svc.stop()
    }
  }, 20_000)
})
