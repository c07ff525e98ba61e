import { describe, expect, it } from 'vitest'
import { ApcMenuDriver } from '../../../drivers/apc-menu/driver.js'
import { type ByteStream, ReceiveBuffer } from '../../../drivers/transport/byte-stream.js'
import { WtiNpsDriver } from '../../../drivers/wti-nps/driver.js'
import { ERRORS, FenceError } from '../../../core/errors.js'
import { prng, randomBytes } from '../../helpers/fuzz.js'

/**
 * Bad input for the console drivers' parsing: a scripted device that logs in properly and then
 * answers the outlet list with a truncated, corrupted or random screen. Whatever comes, a call
 * ends with a map or a typed FenceError before its deadline, and a plug whose row did not arrive
 * whole is never reported on or off.
 */

type Device = (sent: string, push: (s: string) => void, close: () => void) => void

function scripted(device: Device): ByteStream {
  const rx = new ReceiveBuffer()
  let open = false
  return {
    label: 'fake',
    transport: 'telnet',
    rx,
    get isOpen() {
      return open
    },
    async open() {
      open = true
      rx.reopen()
      device(
        '',
        (s) => rx.push(s),
        () => {
          open = false
          rx.close(new FenceError('CONNECTION_LOST', 'fake: closed'))
        },
      )
    },
    async write(b: Buffer) {
      device(
        b.toString('latin1'),
        (s) => setImmediate(() => rx.push(s)),
        () => {
          open = false
          setImmediate(() => rx.close(new FenceError('CONNECTION_LOST', 'fake: closed')))
        },
      )
    },
    async close() {
      open = false
      rx.close(new FenceError('CONNECTION_LOST', 'fake: closed'))
    },
  }
}

const ROWS = [
  '     1- node1                   ON',
  '     2- node2                   OFF',
  '     3- node3                   ON',
]
const LIST = `\r\n------- Outlet Control/Configuration ----\r\n\r\n${ROWS.join('\r\n')}\r\n\r\n     <ESC>- Back\r\n> `

function apcDevice(listScreen: () => string, closeAfter: boolean): Device {
  return (sent, push, close) => {
    if (sent === '') push('\r\nUser Name : ')
    else if (sent === 'apc\r') push('apc\r\nPassword  : ')
    else if (sent === 'pw\r')
      push('***\r\n\r\nAmerican Power Conversion v3.7.3\r\n     1- Device Manager\r\n> ')
    else if (sent === '1\r') push('\r\n------- Device Manager ---\r\n     2- Outlet Management\r\n> ')
    else if (sent === '2\r') {
      push(listScreen())
      if (closeAfter) close()
    }
  }
}

const cfg = {
  host: 'fake',
  port: 23,
  transport: 'telnet' as const,
  user: 'apc',
  password: {},
  hostKey: undefined,
  connectTimeoutMs: 100,
  loginTimeoutMs: 300,
  replyTimeoutMs: 150,
}

async function outcome(p: Promise<Map<string, string>>): Promise<Map<string, string> | FenceError> {
  try {
    return await p
  } catch (e) {
    expect(e).toBeInstanceOf(FenceError)
    expect(Object.keys(ERRORS)).toContain((e as FenceError).code)
    return e as FenceError
  }
}

describe('apc-menu parsing under bad input', () => {
  it('a list cut anywhere (then the prompt): rows that did not arrive whole are never read as on or off', async () => {
    let maps = 0
    for (let cut = 0; cut <= LIST.length; cut += 2) {
      const screen = `${LIST.slice(0, cut)}\r\n> `
      const d = new ApcMenuDriver(cfg, 'ms', 'pw', { stream: scripted(apcDevice(() => screen, false)) })
      const r = await outcome(d.status(['1', '2', '3'], { signal: AbortSignal.timeout(3000) }))
      await d.close()
      if (r instanceof FenceError) continue
      maps++
      for (const [i, row] of ROWS.entries()) {
        const whole = screen.includes(`${row}\r`)
        const want = row.endsWith('OFF') ? 'off' : 'on'
        if (!whole) expect(r.get(String(i + 1)), `cut ${cut}`).toBe('unknown')
        else expect(r.get(String(i + 1)), `cut ${cut}`).toBe(want)
      }
    }
    // most cuts still end in a prompt the driver reads: the property was checked, not skipped
    expect(maps).toBeGreaterThan(LIST.length / 4)
  }, 60_000)

  it('random and corrupted screens: a map or a typed error, in time (fuzz)', async () => {
    const rnd = prng(4242)
    for (let n = 0; n < 60; n++) {
      const mode = n % 3
      const screen = () => {
        if (mode === 0) return randomBytes(rnd, Math.floor(rnd() * 300)).toString('latin1')
        const b = Buffer.from(LIST, 'latin1')
        for (let k = 0; k < 1 + Math.floor(rnd() * 6); k++)
          b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256)
        return b.toString('latin1')
      }
      const d = new ApcMenuDriver(cfg, 'ms', 'pw', { stream: scripted(apcDevice(screen, mode === 2)) })
      const started = Date.now()
      const r = await outcome(d.status(['1', '2', '3', '9'], { signal: AbortSignal.timeout(3000) }))
      await d.close()
      expect(Date.now() - started).toBeLessThan(10_000)
      if (!(r instanceof FenceError)) {
        expect(r.get('9')).toBe('unknown')
        for (const v of r.values()) expect(['on', 'off', 'unknown']).toContain(v)
      }
    }
  }, 120_000)
})

describe('wti-nps parsing under bad input', () => {
  const TABLE =
    '\r\nPlug | Name             | Status | Boot Delay |\r\n-----+------------------+--------+------------+\r\n' +
    ' 1   | node1            |   ON   |   0.5 Secs |\r\n 2   | node2            |   OFF  |   0.5 Secs |\r\n\r\nNPS> '
  const device =
    (table: () => string): Device =>
    (sent, push) => {
      if (sent === '') push('\r\nNetwork Power Switch v3.02\r\n\r\nEnter Password: ')
      else if (sent === 'pw\r') push('\r\n\r\nNPS> ')
      else if (sent === '/S\r') push(table())
    }
  const wcfg = {
    host: 'fake',
    port: 23,
    user: undefined,
    password: {},
    connectTimeoutMs: 100,
    loginTimeoutMs: 300,
    replyTimeoutMs: 150,
    commandTimeoutMs: 300,
  }

  it('corrupted tables: a row is read only when whole, everything else is unknown or a typed error', async () => {
    const rnd = prng(7)
    for (let n = 0; n < 60; n++) {
      const b = Buffer.from(TABLE, 'latin1')
      for (let k = 0; k < 1 + Math.floor(rnd() * 4); k++)
        b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256)
      const text = b.toString('latin1')
      const d = new WtiNpsDriver(wcfg, 'nps', 'pw', { stream: scripted(device(() => text)) })
      const r = await outcome(d.status(['1', '2', '7'], { signal: AbortSignal.timeout(3000) }))
      await d.close()
      if (r instanceof FenceError) continue
      expect(r.get('7')).toBe('unknown')
      // a state is only reported from a row that still says it
      if (r.get('1') === 'on') expect(text).toMatch(/^ ?1\s*\|[^\r\n]*\|\s*ON\s*\|/m)
      if (r.get('2') === 'off') expect(text).toMatch(/^ ?2\s*\|[^\r\n]*\|\s*OFF\s*\|/m)
      expect(r.get('1')).not.toBe('off')
      expect(r.get('2')).not.toBe('on')
    }
  }, 120_000)
})
