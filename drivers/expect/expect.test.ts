import { describe, expect, it } from 'vitest'
import { FenceError } from '../../core/errors.js'
import { type ByteStream, ReceiveBuffer } from '../transport/byte-stream.js'
import { type Script, checkScript, runScript } from './expect.js'

/** An in-memory line: what the script writes is recorded; the test plays the device. */
function fakeStream(device?: (sent: string, rx: ReceiveBuffer) => void): ByteStream & { sent: string[] } {
  const rx = new ReceiveBuffer()
  const sent: string[] = []
  return {
    label: 'fake',
    transport: 'tcp',
    rx,
    sent,
    isOpen: true,
    async open() {},
    async write(b: Buffer) {
      const s = b.toString('latin1')
      sent.push(s)
      device?.(s, rx)
    },
    async close() {},
  }
}

const signal = () => AbortSignal.timeout(5000)

const status: Script = {
  name: 'status',
  phase: 'expect',
  params: ['n'],
  timeoutMs: 300,
  steps: [
    { send: 'S{n}\r', flushInput: true },
    {
      expect: /^END$/,
      name: 'END',
      lines: { strict: true, ignore: [/^BANNER$/] },
      collect: { pattern: /^P(?<n>\d)=(?<v>ON|OFF)$/, into: 'plugs' },
      fail: [{ pattern: /^DENIED$/, code: 'AUTH_REFUSED', message: 'the device refused' }],
    },
  ],
}

describe('checkScript', () => {
  it('accepts a sound script', () => {
    expect(checkScript(status, { hangup: false })).toEqual([])
  })

  it('names every problem with its step', () => {
    const bad: Script = {
      name: 'bad',
      phase: 'expect',
      params: [],
      timeoutMs: 100,
      steps: [
        { send: 'X{unit}' },
        { expect: /.*/, name: 'anything' },
        { expect: /a/g, name: 'g' },
        { delay: 500 },
        { hangup: 100 },
        { expect: /x/, name: 'c', collect: { pattern: /(\d)/, into: 'l' } },
        { send: 'a', delay: 1 } as unknown as Script['steps'][number],
        {
          expect: /y/,
          name: 'paged',
          lines: { strict: false },
          answer: [{ pattern: /more/, send: '{nokey}', name: 'more' }],
        },
        { send: '{later}' },
        { expect: /(?<later>\d)/, name: 'later' },
      ],
    }
    const problems = checkScript(bad, { hangup: false })
    expect(problems).toEqual([
      'script bad, step 1: send uses {unit}, neither a parameter nor a capture of an earlier expect',
      'script bad, step 2: expect /.*/ matches empty input',
      'script bad, step 3: expect patterns must not be global or sticky',
      'script bad, step 4: delay must be within 0…timeoutMs',
      'script bad, step 5: hangup needs modem lines: a local tty, not a TCP terminal server',
      'script bad, step 6: collect pattern has no named group to capture',
      'script bad, step 7: expected exactly one of send, expect, delay, hangup; got send, delay',
      'script bad, step 8: answer works in raw mode only (no lines)',
      'script bad, step 8: answer more uses {nokey}, neither a parameter nor a capture of an earlier expect',
      'script bad, step 9: send uses {later}, neither a parameter nor a capture of an earlier expect',
    ])
  })
})

describe('runScript', () => {
  it('sends the rendered template, collects lines, skips ignored ones, stops at the expected line', async () => {
    const s = fakeStream((sent, rx) => {
      if (sent === 'S3\r') for (const c of 'BANNER\r\nP3=OFF\n\r\r\nP4=ON\r\nEND\r\n') rx.push(c)
    })
    const r = await runScript(s, status, { n: '3' }, signal())
    expect(s.sent).toEqual(['S3\r'])
    expect(r.lists.plugs).toEqual([
      { n: '3', v: 'OFF' },
      { n: '4', v: 'ON' },
    ])
  })

  it('a stray line fails at once as a protocol error quoting it', async () => {
    const s = fakeStream((_s, rx) => rx.push('P3=MAYBE\r\n'))
    const e = await runScript(s, status, { n: '3' }, signal()).catch((x: FenceError) => x)
    expect(e).toMatchObject({ code: 'PROTOCOL_ERROR' })
    expect((e as FenceError).message).toBe(
      'fake: expect: status: unexpected line "P3=MAYBE" while waiting for END; received "P3=MAYBE\\r\\n"',
    )
  })

  it('a fail pattern becomes its typed error', async () => {
    const s = fakeStream((_s, rx) => rx.push('DENIED\r\n'))
    await expect(runScript(s, status, { n: '1' }, signal())).rejects.toMatchObject({ code: 'AUTH_REFUSED' })
  })

  it('a half line times out with the whole-script timeout, quoting the half line', async () => {
    const s = fakeStream((_s, rx) => rx.push('P1=O'))
    const e = (await runScript(s, status, { n: '1' }, signal()).catch((x) => x)) as FenceError
    expect(e.code).toBe('DEVICE_TIMEOUT')
    expect(e.message).toBe('fake: expect: status: no complete answer within 300ms; received "P1=O"')
    expect(e.details).toMatchObject({ phase: 'expect', received: 'P1=O' })
  })

  it('flushes stale input before sending', async () => {
    const s = fakeStream((_s, rx) => rx.push('END\r\n'))
    s.rx.push('P1=ON\r\nEND\r\n') // a late answer to an abandoned command
    const r = await runScript(s, status, { n: '1' }, signal())
    expect(r.lists.plugs).toBeUndefined()
  })

  it('raw mode finds a prompt without a line end; an optional wait may pass empty', async () => {
    const login: Script = {
      name: 'login',
      phase: 'handshake',
      params: ['user'],
      timeoutMs: 1000,
      steps: [
        { expect: /banner/, name: 'banner', timeoutMs: 50, optional: true },
        { send: '{user}\r' },
        { expect: /(?<prompt>\w+)> $/, name: 'prompt', timeoutMs: 500 },
      ],
    }
    const s = fakeStream((sent, rx) => sent === 'apc\r' && rx.push('Welcome\r\napc> '))
    const r = await runScript(s, login, { user: 'apc' }, signal())
    expect(r.vars).toEqual({ prompt: 'apc' })
  })

  it('a step timeout names the step and the phase', async () => {
    const hs: Script = {
      name: 'reset',
      phase: 'handshake',
      params: [],
      timeoutMs: 1000,
      steps: [{ expect: /Ready/, name: "'Ready'", timeoutMs: 60 }],
    }
    const s = fakeStream()
    s.rx.push('noise')
    const e = (await runScript(s, hs, {}, signal()).catch((x) => x)) as FenceError
    expect(e.code).toBe('DEVICE_TIMEOUT')
    expect(e.message).toMatch(/^fake: handshake: reset: expected 'Ready' within \d+ms; received "noise"$/)
  })

  it('the caller aborting wins over everything', async () => {
    const s = fakeStream()
    const ac = new AbortController()
    const p = runScript(s, status, { n: '1' }, ac.signal)
    ac.abort(new FenceError('ABORTED', 'caller left'))
    await expect(p).rejects.toMatchObject({ code: 'ABORTED' })
  })

  it('a closed line is a lost connection, named as such', async () => {
    const s = fakeStream((_s, rx) => rx.close(new FenceError('CONNECTION_LOST', 'fake: closed by peer')))
    await expect(runScript(s, status, { n: '1' }, signal())).rejects.toMatchObject({
      code: 'CONNECTION_LOST',
    })
  })

  it('a hangup step needs modem lines', async () => {
    const s = fakeStream()
    const hs: Script = {
      name: 'dtr',
      phase: 'handshake',
      params: [],
      timeoutMs: 100,
      steps: [{ hangup: 10 }],
    }
    await expect(runScript(s, hs, {}, signal())).rejects.toMatchObject({ code: 'UNSUPPORTED_ACTION' })
  })
})

describe('runScript: menus (captures in sends, answered prompts, raw collect)', () => {
  const menu: Script = {
    name: 'outlets',
    phase: 'expect',
    params: [],
    timeoutMs: 2000,
    steps: [
      { send: '1\r' },
      { expect: /(?<key>\d+)- Outlet Management[\s\S]*?\n> /, name: 'device manager' },
      { send: '{key}\r' },
      {
        expect: /\n> /,
        name: 'outlet list',
        collect: { pattern: /^(?<n>\d+)- (?<name>.*?)\s+(?<state>ON|OFF)$/, into: 'outlets' },
        answer: [{ pattern: /Press <ENTER> to continue\.\.\./, send: '\r', name: 'paging prompt', max: 3 }],
      },
    ],
  }

  it('sends a key read off the screen, answers each page and collects every row', async () => {
    const s = fakeStream((sent, rx) => {
      if (sent === '1\r') rx.push('\r\n 1- Phase Management\r\n 3- Outlet Management\r\n\r\n> ')
      else if (sent === '3\r') rx.push('\r\n 1- a   ON\r\n 2- b   OFF\r\nPress <ENTER> to continue...')
      else if (sent === '\r') rx.push('\r\n 3- c   ON\r\n\r\n> ')
    })
    const r = await runScript(s, menu, {}, signal())
    expect(s.sent).toEqual(['1\r', '3\r', '\r'])
    expect(r.vars.key).toBe('3')
    expect(r.lists.outlets).toEqual([
      { n: '1', name: 'a', state: 'ON' },
      { n: '2', name: 'b', state: 'OFF' },
      { n: '3', name: 'c', state: 'ON' },
    ])
  })

  it('a prompt that keeps coming is a protocol error, not an endless loop', async () => {
    const s = fakeStream((sent, rx) => {
      if (sent === '1\r') rx.push('3- Outlet Management\r\n> ')
      else rx.push('row\r\nPress <ENTER> to continue...')
    })
    const err = await runScript(s, menu, {}, signal()).catch((e) => e)
    expect(err).toBeInstanceOf(FenceError)
    expect(err.code).toBe('PROTOCOL_ERROR')
    expect(err.message).toMatch(/paging prompt came 4 times/)
  })

  it('a menu without the wanted item times out naming the step and quoting the screen', async () => {
    const s = fakeStream((sent, rx) => {
      if (sent === '1\r') rx.push('1- Network\r\n2- System\r\n> ')
    })
    const err = await runScript(s, { ...menu, timeoutMs: 200 }, {}, signal()).catch((e) => e)
    expect(err.code).toBe('DEVICE_TIMEOUT')
    expect(err.message).toMatch(/2- System/)
  })
})
