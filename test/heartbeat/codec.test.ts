import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { Authenticator, crc32Posix, parseAuthKeys } from '../../src/heartbeat/auth.js'
import {
  ClassicFramer,
  DecodeError,
  HaMsg,
  decode,
  encodeClassic,
  encodeNetstring,
  fieldText,
} from '../../src/heartbeat/codec.js'

/** Packets a real heartbeat 3.0.6 daemon sent (captured live, see the file's `source`). */
const VECTORS = JSON.parse(
  readFileSync(new URL('./vectors/heartbeat-3.0.6.json', import.meta.url), 'utf8'),
) as {
  methods: Record<
    string,
    { authkeys: string; ucast: string[]; mcast: string[]; serial: string[]; shutdown?: string[] }
  >
}

describe('heartbeat 3.0.6 packets (live capture)', () => {
  for (const [method, v] of Object.entries(VECTORS.methods)) {
    const auth = new Authenticator(parseAuthKeys(v.authkeys), { allowCrc: true })
    it(`${method}: netstring UDP packets decode and authenticate (trailer and inner auth)`, () => {
      for (const b64 of [...v.ucast, ...v.mcast, ...(v.shutdown ?? [])]) {
        const m = decode(Buffer.from(b64, 'base64'))
        expect(m.format).toBe('netstring')
        expect(auth.verify(m.auth, m.signed)).toBe('ok')
        // the classic auth field kept inside signs the NOHEAD form of the other fields
        const inner = m.fields.find((f) => f.name === 'auth')!.value.toString()
        const rest = m.fields.filter((f) => f.name !== 'auth')
        const noHeadCopy = new HaMsg()
        for (const f of rest) noHeadCopy.fields.push(f)
        expect(encodeClassic(noHeadCopy, auth.sign).toString()).toContain(`auth=${inner}\n`)
        expect(fieldText(m.fields, 'src')).toBe('hbnode')
        expect(m.fields.find((f) => f.name === 'srcuuid')!.value.length).toBe(16)
      }
    })
    it(`${method}: classic serial frames decode and authenticate`, () => {
      for (const b64 of v.serial) {
        const m = decode(Buffer.from(b64, 'base64'))
        expect(m.format).toBe('classic')
        expect(auth.verify(m.auth, m.signed)).toBe('ok')
        // heartbeat also sends its flow-control acks (NS_ackmsg) on the serial line
        expect(['status', 'NS_ackmsg']).toContain(fieldText(m.fields, 't'))
        if (fieldText(m.fields, 't') === 'status') expect(fieldText(m.fields, 'dt')).toBe('bb8')
      }
    })
  }

  it('a one-bit change anywhere fails authentication', () => {
    const v = VECTORS.methods.sha1!
    const auth = new Authenticator(parseAuthKeys(v.authkeys), { allowCrc: false })
    const pkt = Buffer.from(v.ucast[1]!, 'base64')
    const end = pkt.indexOf('%%%\n') + 4
    for (let i = 4; i < end - 4; i += 7) {
      const bad = Buffer.from(pkt)
      bad[i] = bad[i]! ^ 0x01
      let r: string
      try {
        const m = decode(bad)
        r = auth.verify(m.auth, m.signed)
      } catch (e) {
        r = (e as DecodeError).reason
      }
      expect(r).not.toBe('ok')
    }
  })

  it('a wrong key is rejected for every method', () => {
    for (const [method, v] of Object.entries(VECTORS.methods)) {
      if (method === 'crc') continue
      const wrong = new Authenticator(parseAuthKeys(v.authkeys.replace(/ (\S+)\n$/, ' wrongkey\n')), {
        allowCrc: false,
      })
      const m = decode(Buffer.from(v.ucast[0]!, 'base64'))
      expect(wrong.verify(m.auth, m.signed)).toBe('mismatch')
    }
  })

  it('crc-authenticated packets are refused unless allowed', () => {
    const v = VECTORS.methods.crc!
    const m = decode(Buffer.from(v.ucast[0]!, 'base64'))
    const keys = parseAuthKeys('auth 1\n1 sha1 k\n2 crc\n')
    expect(new Authenticator(keys, { allowCrc: false }).verify(m.auth, m.signed)).toBe('refused-method')
    expect(new Authenticator(keys, { allowCrc: true }).verify(m.auth, m.signed)).toBe('ok')
    expect(() => new Authenticator(parseAuthKeys(v.authkeys), { allowCrc: false })).toThrow(/crc/)
  })
})

describe('codec', () => {
  const auth = new Authenticator(parseAuthKeys('auth 1\n1 sha1 secret\n'), { allowCrc: false })
  const msg = () =>
    new HaMsg()
      .add('t', 'status')
      .add('st', 'up')
      .add('dt', '3e8')
      .add('src', 'node1')
      .add('srcuuid', Buffer.from('00112233445566778899aabbccddeeff', 'hex'))
      .add('seq', '1f')

  it('CRC-32 as heartbeat computes it (POSIX check value, no zero padding)', () => {
    expect(crc32Posix(Buffer.from('123456789')).toString(16)).toBe('765e7680')
    expect(crc32Posix(Buffer.alloc(0)).toString(16)).toBe('ffffffff')
  })

  it('netstring round trip, byte layout as heartbeat', () => {
    const wire = encodeNetstring(msg(), auth.sign)
    expect(wire.subarray(0, 20).toString()).toBe('###\n11:(0)t=status,8')
    expect(wire.includes(Buffer.from('27:(1)srcuuid=\x00\x11', 'latin1'))).toBe(true)
    const m = decode(wire)
    expect(auth.verify(m.auth, m.signed)).toBe('ok')
    expect(fieldText(m.fields, 'seq')).toBe('1f')
    expect(m.fields.at(-1)!.name).toBe('auth')
  })

  it('classic round trip; NUL after <<< tolerated (classic over UDP)', () => {
    const wire = encodeClassic(msg(), auth.sign)
    expect(wire.toString()).toMatch(
      /^>>>\nt=status\n.*\(1\)srcuuid=ABEiM0RVZneImaq7zN3u\/w==\n.*auth=1 [0-9a-f]{40}\n<<<\n$/s,
    )
    for (const w of [wire, Buffer.concat([wire, Buffer.from([0])])]) {
      const m = decode(w)
      expect(auth.verify(m.auth, m.signed)).toBe('ok')
      expect(m.fields.find((f) => f.name === 'srcuuid')!.value.toString('hex')).toBe(
        '00112233445566778899aabbccddeeff',
      )
    }
  })

  it('refuses values the classic format cannot carry', () => {
    expect(() => new HaMsg().add('x', '')).toThrow(/empty/)
    expect(() => new HaMsg().add('x', 'a\nb')).toThrow(/control/)
  })

  it('malformed input: typed errors, never anything else', () => {
    const good = encodeNetstring(msg(), auth.sign)
    const cases: [Buffer, string][] = [
      [Buffer.from(''), 'truncated'],
      [Buffer.from('##'), 'truncated'],
      [Buffer.from('hello world'), 'malformed'],
      [good.subarray(0, 40), 'truncated'],
      [Buffer.from('###\n5:(0)t=s,%%%\n'), 'malformed'],
      [Buffer.from('###\n9999999:x'), 'malformed'],
      [Buffer.from('###\n3:abc,%%%\n'), 'malformed'],
      [Buffer.from('>>>\nt=\n<<<\n'), 'malformed'],
      [Buffer.from('>>>\nnoequals\n<<<\n'), 'malformed'],
      [Buffer.from('>>>\n(1)u=!!!\n<<<\n'), 'malformed'],
      [Buffer.from('>>>\nt=status\n'), 'truncated'],
      [Buffer.alloc(70_000, 0x23), 'oversize'],
      [Buffer.concat([good, Buffer.from('x')]), 'malformed'],
    ]
    for (const [buf, reason] of cases) {
      let err: unknown
      try {
        decode(buf)
      } catch (e) {
        err = e
      }
      expect(err, buf.toString('latin1').slice(0, 30)).toBeInstanceOf(DecodeError)
      expect((err as DecodeError).reason).toBe(reason)
    }
  })

  it('serial framer: frames out of noise, split anywhere, cut frames dropped', () => {
    const f1 = encodeClassic(msg(), auth.sign)
    const stream = Buffer.concat([
      Buffer.from('\x00\xffnoise>>'),
      f1,
      Buffer.from('>>>\nt=stat'), // a frame cut by a reconnect
      f1,
      Buffer.from('trailing garbage'),
    ])
    for (const step of [1, 3, 7, 64, stream.length]) {
      const fr = new ClassicFramer()
      const out: Buffer[] = []
      for (let i = 0; i < stream.length; i += step) out.push(...fr.push(stream.subarray(i, i + step)))
      expect(out.length).toBe(2)
      for (const o of out) expect(o.equals(f1)).toBe(true)
      expect(fr.garbageBytes).toBeGreaterThan(0)
    }
  })

  it('serial framer: bounded memory on an endless frame', () => {
    const fr = new ClassicFramer()
    fr.push(Buffer.from('>>>\n'))
    for (let i = 0; i < 40; i++) fr.push(Buffer.alloc(4096, 0x41))
    expect(fr.overlongFrames).toBe(1)
    const f1 = encodeClassic(msg(), auth.sign)
    expect(fr.push(f1).length).toBe(1)
  })

  it('authkeys parsing: errors name the line, never the key', () => {
    expect(parseAuthKeys('# c\nauth 2\n1 sha1 a\n2 md5 b # trailing\n').sendIndex).toBe(2)
    expect(() => parseAuthKeys('1 sha1 topsecret\n')).toThrow(/no 'auth N'/)
    expect(() => parseAuthKeys('auth 1\n1 rot13 topsecret\n')).toThrow(/authkeys:2: unknown method/)
    expect(() => parseAuthKeys('auth 1\n1 sha1\n')).toThrow(/needs a key/)
    expect(() => parseAuthKeys('auth 1\n1 sha1 top secret\n')).toThrow(/one word/)
    try {
      parseAuthKeys('auth 1\n1 sha1 top secret\n')
    } catch (e) {
      expect(String(e)).not.toContain('top')
    }
  })
})
