import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { prng } from '../test/helpers/fuzz.js'
import { decodeAnswer, decodeRequest, encodeErr, encodeOk, encodeRequest } from './dummy-line.js'

describe('dummy line protocol', () => {
  it('round-trips requests and answers, names with spaces included', () => {
    expect(decodeRequest(encodeRequest({ tag: 7, verb: 'SET', args: ['3', 'off'] }))).toEqual({
      tag: 7,
      verb: 'SET',
      args: ['3', 'off'],
    })
    expect(
      decodeAnswer(
        encodeOk(9, [
          ['1', 'web server'],
          ['2', 'db=1'],
        ]),
      ),
    ).toEqual({
      tag: 9,
      ok: true,
      pairs: [
        ['1', 'web server'],
        ['2', 'db=1'],
      ],
    })
    expect(decodeAnswer(encodeErr(4, 'NO_SUCH_PLUG', 'no outlet 9'))).toMatchObject({
      tag: 4,
      ok: false,
      code: 'NO_SUCH_PLUG',
      text: 'no outlet 9',
    })
  })

  it('fuzz: mutated and random answers decode to null or a well-formed answer, never throw', () => {
    const next = prng(42)
    const base = encodeOk(12, [
      ['1', 'on'],
      ['2', 'off'],
    ])
    for (let i = 0; i < 5000; i++) {
      const bytes = Buffer.from(
        i % 2 ? base : randomBytes(Math.floor(next() * 40)).toString('latin1'),
        'latin1',
      )
      for (let k = 0; k < 3; k++) bytes[Math.floor(next() * bytes.length)] = Math.floor(next() * 256)
      const line = bytes.toString('latin1')
      const a = decodeAnswer(line)
      if (a) {
        expect(Number.isInteger(a.tag)).toBe(true)
        for (const [k, v] of a.pairs) {
          expect(typeof k).toBe('string')
          expect(typeof v).toBe('string')
        }
      }
      const r = decodeRequest(line)
      expect('error' in r || ['PLUGS', 'STATUS', 'SET', 'CANCEL'].includes(r.verb)).toBe(true)
    }
  })

  it('a state that is neither on nor off is not read as either', () => {
    // e.g. a garbled "off" -> the driver maps anything else to unknown
    const a = decodeAnswer('5 OK 1=ofF\n')!
    expect(a.pairs[0]![1]).toBe('ofF')
  })
})
