import { type ChildProcess, spawn } from 'node:child_process'
import dgram from 'node:dgram'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Authenticator, parseAuthKeys } from '../../src/heartbeat/auth.js'
import { HaMsg, encodeClassic, encodeNetstring } from '../../src/heartbeat/codec.js'
import type { HeartbeatConfig } from '../../src/heartbeat/config.js'
import { HeartbeatMember } from '../../src/heartbeat/member-loop.js'
import type { FromWorker, HeartbeatSnapshot } from '../../src/heartbeat/protocol.js'
import { FENCE_OFF, sleep } from './netns.js'

/**
 * A member (in this process, real sockets and a real pty) under hostile input from a fake peer
 * `n2`: truncated, oversized, unauthenticated, wrongly keyed and replayed packets on UDP, garbage
 * on the serial line. Every one is dropped and counted by reason; none crashes the member or
 * makes n2 alive. Then genuine packets bring n2 up, proving the pipeline was listening.
 */
const PORT = 16_941
const dir = mkdtempSync(join(tmpdir(), 'fghb-bad-'))
const KEYS = 'auth 1\n1 sha1 bad-input-key\n'
const good = new Authenticator(parseAuthKeys(KEYS), { allowCrc: false })
const wrong = new Authenticator(parseAuthKeys('auth 1\n1 sha1 other-key\n'), { allowCrc: false })
let member: HeartbeatMember
let socat: ChildProcess
let peer: dgram.Socket
const out: FromWorker[] = []

function status(seq: number, gen = 500, src = 'n2'): HaMsg {
  return new HaMsg()
    .add('t', 'status')
    .add('st', 'active')
    .add('dt', '3e8')
    .add('src', src)
    .add('srcuuid', Buffer.alloc(16, 7))
    .add('seq', seq.toString(16))
    .add('hg', gen.toString(16))
    .add('ts', '6b000000')
    .add('ld', 'n/a')
    .add('ttl', '3')
}

const sendUdp = (b: Buffer) =>
  new Promise<void>((resolve, reject) => peer.send(b, PORT, '127.0.0.1', (e) => (e ? reject(e) : resolve())))

async function snap(): Promise<HeartbeatSnapshot> {
  return member.snapshot()
}

describe('bad input on every link', () => {
  beforeAll(async () => {
    socat = spawn('socat', [`pty,raw,echo=0,link=${dir}/a`, `pty,raw,echo=0,link=${dir}/b`], {
      stdio: 'ignore',
    })
    for (let i = 0; i < 100 && !(existsSync(`${dir}/a`) && existsSync(`${dir}/b`)); i++) await sleep(20)
    writeFileSync(`${dir}/keys`, KEYS, { mode: 0o600 })
    const config: HeartbeatConfig = {
      node: 'n1',
      nodes: ['n1', 'n2'],
      keepaliveMs: 200,
      warntimeMs: 500,
      deadtimeMs: 1000,
      initdeadMs: 60_000,
      links: [
        { kind: 'ucast', name: 'ucast', interface: 'lo', peer: '127.0.0.2', port: PORT },
        { kind: 'serial', name: 'serial', path: `${dir}/a`, baud: 115200, rtscts: false },
      ],
      authKeyFile: `${dir}/keys`,
      allowCrc: false,
      stateDir: `${dir}/state`,
      fence: FENCE_OFF,
    }
    member = new HeartbeatMember(config, (m) => out.push(m))
    member.start()
    peer = dgram.createSocket('udp4')
    await new Promise<void>((r) => peer.bind(0, '127.0.0.2', () => r()))
    for (let i = 0; i < 50 && (await snap()).links.some((l) => l.state !== 'open'); i++) await sleep(50)
  })

  afterAll(async () => {
    await member.stop()
    peer.close()
    socat.kill()
    rmSync(dir, { recursive: true, force: true })
  })

  it('UDP: truncated, garbage, unauthenticated, wrong key, unknown node — dropped and counted, n2 never alive', async () => {
    const pkt = encodeNetstring(status(1), good.sign)
    await sendUdp(pkt.subarray(0, 60))
    await sendUdp(Buffer.from('GET / HTTP/1.0\r\n\r\n'))
    await sendUdp(Buffer.alloc(0))
    // no auth trailer at all
    await sendUdp(pkt.subarray(0, pkt.indexOf('%%%\n') + 4))
    await sendUdp(encodeNetstring(status(2), wrong.sign))
    await sendUdp(encodeNetstring(status(3, 500, 'intruder'), good.sign))
    // a large datagram (the biggest a UDP socket takes), garbage
    await sendUdp(Buffer.alloc(65_000, 0x23))
    await sleep(200)
    const s = await snap()
    const d = s.links.find((l) => l.name === 'ucast')!.dropped
    expect(d).toMatchObject({
      truncated: 2,
      malformed: 2,
      'auth-missing': 1,
      'auth-mismatch': 1,
      'unknown-node': 1,
    })
    expect(s.nodes.find((n) => n.name === 'n2')!.state).toBe('init')
    expect(out.some((m) => m.type === 'event' && m.event.kind === 'node-up')).toBe(false)
  })

  it('serial: garbage, cut frames, an endless frame and a wrong key — counted, n2 never alive', async () => {
    // async writes: the member reads the other end in this very process
    const fh = await open(`${dir}/b`, 'w')
    const w = (b: Buffer | string) => fh.write(typeof b === 'string' ? Buffer.from(b, 'latin1') : b)
    await w('\x00\xff\xfe line noise <<<\n>>>\nt=sta')
    await w(encodeClassic(status(4), wrong.sign))
    await w('>>>\n')
    for (let i = 0; i < 20; i++) await w(Buffer.alloc(4096, 0x41))
    await w('\n<<<\n')
    await sleep(300)
    const s = await snap()
    const serial = s.links.find((l) => l.name === 'serial')!
    expect(serial.garbageBytes).toBeGreaterThan(80_000)
    expect(serial.overlongFrames).toBe(1)
    expect(serial.dropped['auth-mismatch']).toBe(1)
    expect(s.nodes.find((n) => n.name === 'n2')!.state).toBe('init')
    // genuine frames on the same line bring the serial link and the node up
    await w(encodeClassic(status(5), good.sign))
    await sleep(200)
    const after = await snap()
    expect(after.nodes.find((n) => n.name === 'n2')!.links.find((l) => l.name === 'serial')!.state).toBe('up')
    expect(after.nodes.find((n) => n.name === 'n2')!.state).toBe('up')
    await fh.close()
  })

  it('replays: the same packet again, an older generation, after death — dropped, never a sign of life', async () => {
    const fresh = encodeNetstring(status(6), good.sign)
    await sendUdp(fresh)
    await sendUdp(fresh)
    await sendUdp(encodeNetstring(status(7, 499), good.sign))
    await sleep(200)
    let s = await snap()
    expect(s.links.find((l) => l.name === 'ucast')!.dropped).toMatchObject({
      'replay-sequence': 1,
      'replay-generation': 1,
    })
    // let n2 die, then play back everything recorded: it stays dead
    for (let i = 0; i < 40 && s.nodes.find((n) => n.name === 'n2')!.state !== 'dead'; i++) {
      await sleep(100)
      s = await snap()
    }
    expect(s.nodes.find((n) => n.name === 'n2')!.state).toBe('dead')
    for (let i = 0; i < 3; i++) await sendUdp(fresh)
    await sendUdp(encodeNetstring(status(6, 499), good.sign))
    await sleep(300)
    s = await snap()
    expect(s.nodes.find((n) => n.name === 'n2')!.state).toBe('dead')
    expect(s.links.find((l) => l.name === 'ucast')!.dropped['replay-sequence']).toBe(4)
    // a genuinely new packet of the same generation: the node returns (after a partition)
    await sendUdp(encodeNetstring(status(8), good.sign))
    await sleep(200)
    expect((await snap()).nodes.find((n) => n.name === 'n2')!.state).toBe('up')
    expect(
      out.some(
        (m) =>
          m.type === 'event' && m.event.kind === 'node-up' && m.event.reason === 'return-after-partition',
      ),
    ).toBe(true)
  })
})
