import { describe, expect, it } from 'vitest'
import { DO, DONT, IAC, OPT, SB, SE, TelnetCodec, type TelnetPolicy, WILL, WONT } from './telnet.js'

function pair(policy: TelnetPolicy = { local: [OPT.SGA, OPT.BINARY], remote: [OPT.ECHO, OPT.SGA] }) {
  const replies: number[][] = []
  const codec = new TelnetCodec(policy, (b) => replies.push([...b]))
  return { codec, replies }
}

describe('TelnetCodec: negotiation', () => {
  it('accepts what its policy allows and refuses the rest, once per change', () => {
    const { codec, replies } = pair()
    const data = codec.decode(
      Buffer.from([IAC, WILL, OPT.ECHO, IAC, DO, OPT.SGA, IAC, DO, OPT.TTYPE, IAC, WILL, OPT.LINEMODE]),
    )
    expect([...data]).toEqual([])
    expect(replies).toEqual([
      [IAC, DO, OPT.ECHO],
      [IAC, WILL, OPT.SGA],
      [IAC, WONT, OPT.TTYPE],
      [IAC, DONT, OPT.LINEMODE],
    ])
    expect(codec.remoteOn.has(OPT.ECHO)).toBe(true)
    expect(codec.localOn.has(OPT.SGA)).toBe(true)
    // the same requests again change nothing and are not acknowledged (no loop)
    replies.length = 0
    codec.decode(Buffer.from([IAC, WILL, OPT.ECHO, IAC, DO, OPT.SGA]))
    expect(replies).toEqual([])
  })

  it('answers a disable of an enabled option once, and ignores a disable of a disabled one', () => {
    const { codec, replies } = pair()
    codec.decode(Buffer.from([IAC, WILL, OPT.ECHO]))
    replies.length = 0
    codec.decode(Buffer.from([IAC, WONT, OPT.ECHO, IAC, WONT, OPT.ECHO, IAC, DONT, OPT.BINARY]))
    expect(replies).toEqual([[IAC, DONT, OPT.ECHO]])
    expect(codec.remoteOn.has(OPT.ECHO)).toBe(false)
  })

  it('an offer settled by the peer is not acknowledged again', () => {
    const { codec, replies } = pair({ local: [OPT.ECHO], remote: [] })
    codec.offer(OPT.ECHO)
    codec.offer(OPT.ECHO)
    expect(replies).toEqual([[IAC, WILL, OPT.ECHO]])
    codec.decode(Buffer.from([IAC, DO, OPT.ECHO]))
    expect(replies).toHaveLength(1)
    expect(codec.localOn.has(OPT.ECHO)).toBe(true)
    const { codec: c2, replies: r2 } = pair({ local: [], remote: [OPT.SGA] })
    c2.ask(OPT.SGA)
    c2.decode(Buffer.from([IAC, WONT, OPT.SGA]))
    expect(r2).toEqual([[IAC, DO, OPT.SGA]])
    expect(c2.remoteOn.has(OPT.SGA)).toBe(false)
  })
})

describe('TelnetCodec: data', () => {
  it('strips commands and subnegotiations, keeps IAC IAC as 0xFF, CR NUL as CR', () => {
    const { codec } = pair()
    const wire = Buffer.from([
      65,
      IAC,
      241, // NOP
      66,
      IAC,
      SB,
      OPT.NAWS,
      0,
      80,
      IAC,
      IAC,
      0,
      24,
      IAC,
      SE,
      67,
      IAC,
      IAC,
      13,
      0,
      68,
      13,
      10,
    ])
    expect([...codec.decode(wire)]).toEqual([65, 66, 67, 255, 13, 68, 13, 10])
  })

  it('decodes the same however the input is split', () => {
    const wire = Buffer.from([
      ...Buffer.from('User'),
      IAC,
      WILL,
      OPT.ECHO,
      IAC,
      SB,
      24,
      1,
      IAC,
      SE,
      13,
      0,
      IAC,
      IAC,
      ...Buffer.from(' Name : '),
    ])
    const whole = pair()
    const expected = [...whole.codec.decode(wire)]
    for (let cut = 0; cut <= wire.length; cut++) {
      const p = pair()
      const got = [...p.codec.decode(wire.subarray(0, cut)), ...p.codec.decode(wire.subarray(cut))]
      expect(got).toEqual(expected)
      expect(p.replies).toEqual(whole.replies)
    }
  })

  it('encodes 0xFF doubled and a lone CR as CR NUL (CR LF kept)', () => {
    const { codec } = pair()
    expect([...codec.encode(Buffer.from([49, 13, 255, 13, 10]))]).toEqual([49, 13, 0, 255, 255, 13, 10])
    // with BINARY on our side a CR goes as it is
    codec.decode(Buffer.from([IAC, DO, OPT.BINARY]))
    expect([...codec.encode(Buffer.from([49, 13]))]).toEqual([49, 13])
  })

  it('round-trips any data through encode and decode (fuzz)', () => {
    let seed = 7
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff
      return seed
    }
    for (let n = 0; n < 300; n++) {
      const data = Buffer.from(Array.from({ length: rnd() % 64 }, () => [255, 13, 0, 10, 65][rnd() % 5]!))
      // a CR NUL in the data would be read back as CR: NVT data has no bare NUL after CR
      const clean = Buffer.from(data.toString('latin1').replace(/\r\0/g, '\r'), 'latin1')
      const tx = pair()
      const rx = pair()
      const wire = tx.codec.encode(clean)
      const parts: Buffer[] = []
      for (let i = 0; i < wire.length; ) {
        const k = 1 + (rnd() % 5)
        parts.push(rx.codec.decode(wire.subarray(i, i + k)))
        i += k
      }
      expect(Buffer.concat(parts).equals(clean)).toBe(true)
    }
  })

  it('survives random garbage: never throws, never answers more than one reply per command', () => {
    let seed = 99
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff
      return seed
    }
    for (let n = 0; n < 200; n++) {
      const p = pair()
      const junk = Buffer.from(
        Array.from({ length: rnd() % 200 }, () =>
          rnd() % 3 === 0 ? [IAC, DO, WILL, SB, SE][rnd() % 5]! : rnd() % 256,
        ),
      )
      const out = p.codec.decode(junk)
      expect(out.length).toBeLessThanOrEqual(junk.length)
      const commands = junk.filter((b) => b === IAC).length
      expect(p.replies.length).toBeLessThanOrEqual(commands)
    }
  })

  it('an endless subnegotiation does not swallow the session', () => {
    const { codec } = pair()
    codec.decode(Buffer.concat([Buffer.from([IAC, SB, 24]), Buffer.alloc(5000, 65)]))
    expect(codec.decode(Buffer.from('ok')).toString()).toBe('ok')
  })
})
