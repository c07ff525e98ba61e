import { describe, expect, it } from 'vitest'
import { commandScript, judgeReply } from '../../../drivers/rps10/scripts.js'
import { type ByteStream, ReceiveBuffer } from '../../../drivers/transport/byte-stream.js'
import { runScript } from '../../../drivers/expect/expect.js'
import { FenceError } from '../../../core/errors.js'
import {
  type Unit,
  UNITS,
  checkReply,
  classifyLine,
  encodeRequest,
  scanRequests,
} from '../../../protocols/rps10.js'
import { prng } from '../../helpers/fuzz.js'

/**
 * Fuzzing the RPS-10 parsers with a seeded generator (failures reproduce): the device side
 * (scanRequests) and the client side (the engine's line handling + checkReply, exactly as the
 * driver runs them). The property that matters: no false success — a state is returned only
 * when the bytes really held `Plug <asked unit> <state>` before `Complete`.
 */

const EOLS = ['\r\n', '\n\r', '\n', '\r']

/** A reply a unit might send, then damaged in random ways. */
function mutatedReply(rnd: () => number, unit: Unit): string {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!
  const eol = pick(EOLS)
  const lines: string[] = []
  if (rnd() < 0.4) lines.push(`Plug ${unit} ${pick(['On', 'Off'])}`)
  const n = Math.floor(rnd() * 3)
  for (let i = 0; i < n; i++)
    lines.push(
      pick([
        `Plug ${rnd() < 0.6 ? unit : pick(UNITS)} ${pick(['On', 'Off', 'on', 'OFF', 'Of'])}`,
        'RPS-10 Ready',
        '',
        'Complete',
        String.fromCharCode(
          ...Array.from({ length: 1 + Math.floor(rnd() * 12) }, () => Math.floor(rnd() * 256)),
        ),
      ]),
    )
  if (rnd() < 0.7) lines.push('Complete')
  let text = lines.map((l) => l + eol).join('')
  const damage = rnd() < 0.5 ? 0 : Math.floor(rnd() * 4)
  for (let d = 0; d < damage; d++) {
    const at = Math.floor(rnd() * (text.length + 1))
    const op = rnd()
    if (op < 0.33)
      text = text.slice(0, at) + String.fromCharCode(Math.floor(rnd() * 256)) + text.slice(at + 1)
    else if (op < 0.66) text = text.slice(0, at)
    else text = text.slice(0, at) + pick(['\r', '\n', '\x00', 'Plug ', ' ']) + text.slice(at)
  }
  return text
}

/** The ground truth: the first valid Plug line for the unit that precedes the first Complete line. */
function truth(text: string, unit: Unit): { state?: 'on' | 'off'; complete: boolean } {
  const lines = text.split(/[\r\n]+/).map((l) => l.trim())
  let state: 'on' | 'off' | undefined
  for (const l of lines) {
    if (l === 'Complete') return { state, complete: true }
    const m = /^Plug ([0-9]) (On|Off)$/.exec(l)
    if (m && m[1] === unit && !state) state = m[2] === 'On' ? 'on' : 'off'
  }
  return { state, complete: false }
}

function streamWith(text: string): ByteStream {
  const rx = new ReceiveBuffer()
  return {
    label: 'fuzz',
    transport: 'tcp',
    rx,
    isOpen: true,
    async open() {},
    async write() {
      // the device answers, in random-sized pieces, then the line drops (no waiting for timeouts)
      for (let i = 0; i < text.length; i += 3) rx.push(text.slice(i, i + 3))
      rx.close(new FenceError('CONNECTION_LOST', 'fuzz: end of input'))
    },
    async close() {},
  }
}

describe('rps10 reply parser, fuzzed', () => {
  it('never reports a state the bytes did not hold (3000 mutated replies)', async () => {
    const rnd = prng(0x5eed)
    const script = commandScript('status', '?', 1000)
    let successes = 0
    let errors = 0
    for (let i = 0; i < 3000; i++) {
      const unit = UNITS[Math.floor(rnd() * 10)]!
      const text = mutatedReply(rnd, unit)
      const expected = truth(text, unit)
      try {
        const r = await runScript(streamWith(text), script, { address: unit }, AbortSignal.timeout(2000))
        const check = judgeReply(unit, '?', r)
        if (check.ok) {
          successes++
          expect(expected.complete, JSON.stringify(text)).toBe(true)
          expect(check.plugs.get(unit), JSON.stringify(text)).toBe(expected.state)
        } else errors++
      } catch (e) {
        expect(e).toBeInstanceOf(FenceError)
        expect(['PROTOCOL_ERROR', 'CONNECTION_LOST']).toContain((e as FenceError).code)
        errors++
      }
    }
    // the generator exercises both outcomes
    expect(successes).toBeGreaterThan(100)
    expect(errors).toBeGreaterThan(100)
  })

  it('classifyLine never throws and calls a line a plug only when it is exactly one', () => {
    const rnd = prng(42)
    for (let i = 0; i < 5000; i++) {
      const noise = String.fromCharCode(
        ...Array.from({ length: Math.floor(rnd() * 12) }, () => Math.floor(rnd() * 128)),
      )
      const line =
        rnd() < 0.5 ? `Plug ${noise}` : rnd() < 0.5 ? `Plug ${Math.floor(rnd() * 10)} ${noise}` : noise
      const c = classifyLine(line)
      const exact = /^Plug [0-9] (On|Off)$/.test(line.replace(/^[\r\n]+|[\r\n]+$/g, '').trim())
      expect(c.kind === 'plug', JSON.stringify(line)).toBe(exact)
    }
    expect(classifyLine('\rPlug 3 Off\n')).toEqual({ kind: 'plug', unit: '3', state: 'off' })
    expect(classifyLine('Plug 3 Of')).toEqual({ kind: 'other', text: 'Plug 3 Of' })
    expect(classifyLine('Plug 10 On')).toMatchObject({ kind: 'other' })
  })

  it('checkReply: a toggle reports Off then On; a chain reports each unit once', () => {
    const p = (unit: Unit, state: 'on' | 'off') => ({ kind: 'plug' as const, unit, state })
    expect(checkReply('2', 'T', [p('2', 'off'), p('2', 'on')]).ok).toBe(true)
    expect(checkReply('2', 'T', [p('2', 'on'), p('2', 'off')]).ok).toBe(false)
    expect(checkReply('*', '?', [p('0', 'on'), p('0', 'off')]).ok).toBe(false)
    expect(checkReply('*', '?', [p('0', 'on'), p('1', 'off')])).toMatchObject({ ok: true })
    expect(checkReply('1', '1', [])).toMatchObject({ ok: true }) // some units print no line for On
  })
})

describe('rps10 request scanner (device side), fuzzed', () => {
  it('finds every frame among noise, however the bytes are split', () => {
    const rnd = prng(7)
    for (let i = 0; i < 1000; i++) {
      const frames: string[] = []
      const parts: Buffer[] = []
      for (let k = 0; k < 4; k++) {
        // noise without the password's first byte, so it cannot start a false frame
        parts.push(
          Buffer.from(Array.from({ length: Math.floor(rnd() * 6) }, () => 0x20 + Math.floor(rnd() * 90))),
        )
        if (rnd() < 0.2) parts.push(Buffer.from([0x18, 0x18])) // powerman's extra ^X^X
        const unit = rnd() < 0.1 ? '*' : UNITS[Math.floor(rnd() * 10)]!
        const cmd = (['0', '1', 'T', '?'] as const)[Math.floor(rnd() * 4)]!
        frames.push(unit + cmd)
        parts.push(encodeRequest(unit, cmd))
      }
      const all = Buffer.concat(parts)
      const found: string[] = []
      let rest: Buffer = Buffer.alloc(0)
      for (let at = 0; at < all.length; ) {
        const n = 1 + Math.floor(rnd() * 5)
        const r = scanRequests(Buffer.concat([rest, all.subarray(at, at + n)]))
        rest = Buffer.from(r.rest)
        for (const q of r.requests) found.push(q.address + q.cmd)
        at += n
      }
      expect(found).toEqual(frames)
      expect(rest.length).toBe(0)
    }
  })
})
