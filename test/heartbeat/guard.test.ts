import { writeFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureBuilt } from './build.js'
import { type MemberProc, NetLab, memberConfig, sleep, startMember } from './netns.js'

/**
 * Design rule 10: heartbeat fencing only where fencegate is the only membership authority. A real
 * corosync runs on the member's "machine" (its network, pid and mount namespaces; corosync's
 * /run, /var/lib/corosync and /dev/shm are private tmpfs there, so nothing of the host is touched).
 */
const lab = new NetLab('g', 2, 131)
const started: MemberProc[] = []
const TWO_NODE_FENCE = { enabled: true, preferred: 'n1', raceDelayMs: 5000, timeoutMs: 2000 }

function corosync(delay = 0): string {
  const conf = `${lab.dir}/corosync.conf`
  writeFileSync(
    conf,
    `totem {
  version: 2
  cluster_name: fghbguard
  transport: knet
  crypto_cipher: none
  crypto_hash: none
}
nodelist {
  node {
    ring0_addr: 127.0.0.1
    name: n1
    nodeid: 1
  }
}
quorum {
  provider: corosync_votequorum
}
logging {
  to_stderr: no
  to_syslog: no
}
`,
  )
  const mounts = ['/run', '/dev/shm', '/var/lib/corosync'].map((d) => `mount -t tmpfs fghb ${d}`).join(' && ')
  // delay 0: corosync is up before the member starts
  return `${mounts}\n(sleep ${delay}; exec corosync -f -c ${conf}) &\n${delay ? '' : 'sleep 1'}`
}

function member(fence: object, pidNsExtra?: string): MemberProc {
  const m = startMember(lab, 1, memberConfig(lab, 1, { serial: false, fence }), {}, pidNsExtra)
  started.push(m)
  return m
}

describe('heartbeat fencing beside corosync', () => {
  beforeAll(() => {
    ensureBuilt()
    lab.up()
  }, 60_000)

  afterAll(async () => {
    await Promise.all(started.map((m) => m.stop()))
    lab.down()
  })

  it('refused at start when corosync runs', async () => {
    const m = member(TWO_NODE_FENCE, corosync())
    const line = await m.until('refusal', () =>
      m.lines.find((l) => l.type === 'refused' || l.type === 'ready'),
    )
    expect(line.type).toBe('refused')
    expect(String(line.error)).toMatch(/heartbeat fencing refused: corosync runs here \(corosync, pid \d+\)/)
  })

  it('membership without fencing is allowed beside it', async () => {
    const m = member({ enabled: false }, corosync())
    const line = await m.until('start', () => m.lines.find((l) => l.type === 'refused' || l.type === 'ready'))
    expect(line.type).toBe('ready')
    await m.stop()
  })

  it('corosync started later: fencing is blocked at run time', async () => {
    const m = member(TWO_NODE_FENCE, corosync(2))
    await m.until('ready', () => m.lines.find((l) => l.type === 'ready'))
    expect((await m.snapshot()).fencing.blockedBy).toBeUndefined()
    expect((await m.snapshot()).fencing.canFence).toEqual(['n2'])
    await m.until('blocked', () =>
      m.lines.find(
        (l) => l.type === 'log' && String(l.msg).startsWith('heartbeat fencing blocked: corosync runs here'),
      ),
    )
    await sleep(300)
    const snap = await m.snapshot()
    expect(snap.fencing.blockedBy).toMatch(/corosync runs here/)
    // a blocked member stops advertising that it would fence
    expect(snap.fencing.canFence).toEqual([])
    await m.stop()
  })
})
