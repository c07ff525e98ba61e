import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { Authenticator, parseAuthKeys } from '../../src/heartbeat/auth.js'
import {
  ClassicFramer,
  DecodeError,
  HaMsg,
  decode,
  encodeClassic,
  encodeNetstring,
} from '../../src/heartbeat/codec.js'
import { readControl } from '../../src/heartbeat/message.js'
import { prng as rng } from '../helpers/fuzz.js'

/**
 * Seeded fuzzing of the decoders: mutations of real packets (heartbeat 3.0.6 captures and our
 * own) and pure noise. The decoders may only return a message or throw a DecodeError; a mutated
 * packet never authenticates; the serial framer never holds more than its bound.
 */

const VECTORS = JSON.parse(readFileSync(new URL('./vectors/heartbeat-3.0.6.json', import.meta.url), 'utf8'))
const HB_AUTH = new Authenticator(parseAuthKeys(VECTORS.methods.sha1.authkeys), { allowCrc: false })
const OURS = new Authenticator(parseAuthKeys('auth 1\n1 sha1 k\n'), { allowCrc: false })
const msg = new HaMsg()
  .add('t', 'status')
  .add('st', 'up')
  .add('src', 'n1')
  .add('seq', '1')
  .add('hg', '5')
  .add('ts', '1')
const SEEDS: { pkt: Buffer; auth: Authenticator }[] = [
  ...[...VECTORS.methods.sha1.ucast, ...VECTORS.methods.sha1.serial].map((b: string) => ({
    pkt: Buffer.from(b, 'base64'),
    auth: HB_AUTH,
  })),
  { pkt: encodeNetstring(msg, OURS.sign), auth: OURS },
  { pkt: encodeClassic(msg, OURS.sign), auth: OURS },
]

function mutate(r: () => number, src: Buffer): Buffer {
  const b = Buffer.from(src)
  const kind = Math.floor(r() * 6)
  const at = Math.floor(r() * b.length)
  switch (kind) {
    case 0: // flip bits
      for (let i = 0; i < 1 + r() * 4; i++) {
        const p = Math.floor(r() * b.length)
        b[p] = b[p]! ^ (1 << Math.floor(r() * 8))
      }
      return b
    case 1: // truncate
      return b.subarray(0, at)
    case 2: // insert random bytes
      return Buffer.concat([
        b.subarray(0, at),
        Buffer.from(Array.from({ length: 1 + r() * 20 }, () => r() * 256)),
        b.subarray(at),
      ])
    case 3: // delete a run
      return Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + Math.floor(r() * 20))])
    case 4: // corrupt a netstring length or a separator
      for (let i = 0; i < b.length; i++)
        if ((b[i] === 0x3a || b[i] === 0x2c || b[i] === 0x3d || b[i] === 0x0a) && r() < 0.1)
          b[i] = Math.floor(r() * 256)
      return b
    default: // duplicate a slice
      return Buffer.concat([b, b.subarray(at, at + Math.floor(r() * 40))])
  }
}

describe('decoder fuzz', () => {
  it('20,000 mutated packets: a message or a DecodeError, never authentic when changed', () => {
    const r = rng(0x5eed)
    let decoded = 0
    let rejected = 0
    for (let i = 0; i < 20_000; i++) {
      const seed = SEEDS[Math.floor(r() * SEEDS.length)]!
      const m = mutate(r, seed.pkt)
      try {
        const d = decode(m)
        decoded++
        readControl(d.fields)
        if (!m.equals(seed.pkt) && seed.auth.verify(d.auth, d.signed) === 'ok') {
          // only a change outside the signed bytes (e.g. a NUL after <<<) may keep the signature
          expect(d.signed.equals(decode(seed.pkt).signed)).toBe(true)
        }
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e
        rejected++
      }
    }
    expect(decoded + rejected).toBe(20_000)
    expect(rejected).toBeGreaterThan(5000)
  })

  it('noise: random buffers and random-length netstrings', () => {
    const r = rng(42)
    for (let i = 0; i < 5000; i++) {
      const len = Math.floor(r() * 600)
      const head = ['###\n', '>>>\n', '', '\n\n###\n'][Math.floor(r() * 4)]!
      const b = Buffer.concat([
        Buffer.from(head),
        Buffer.from(Array.from({ length: len }, () => Math.floor(r() * 256))),
      ])
      try {
        decode(b)
      } catch (e) {
        expect(e).toBeInstanceOf(DecodeError)
      }
    }
  })

  it('serial framer: random chunking of frames and noise, bounded buffer', () => {
    const r = rng(7)
    const frame = encodeClassic(msg, OURS.sign)
    const fr = new ClassicFramer()
    let frames = 0
    let sent = 0
    for (let i = 0; i < 3000; i++) {
      const noise = Buffer.from(Array.from({ length: Math.floor(r() * 30) }, () => Math.floor(r() * 256)))
      const piece = r() < 0.5 ? frame : noise
      if (piece === frame) sent++
      // split the piece at random points
      let at = 0
      while (at < piece.length) {
        const n = 1 + Math.floor(r() * 50)
        for (const f of fr.push(piece.subarray(at, at + n))) {
          frames++
          // every frame handed up is complete; most are intact (noise can cut one short)
          expect(f.subarray(0, 4).toString()).toBe('>>>\n')
          expect(f.subarray(-4).toString()).toBe('<<<\n')
        }
        at += n
      }
    }
    // noise ending in a partial head can swallow the frame after it; nearly all get through
    expect(frames).toBeGreaterThan(sent * 0.9)
    expect(frames).toBeLessThanOrEqual(sent)
  })
})
