import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { SerialPort } from 'serialport'
import { afterEach, describe, expect, it } from 'vitest'
import type { Rps10Driver } from '../../../drivers/rps10/driver.js'
import { rps10Driver } from '../../../drivers/rps10/index.js'
import { scanRequests } from '../../../protocols/rps10.js'
import { call, failure } from '../rps10-lab.js'

/**
 * A scripted "unit" that answers what each test tells it to — garbage, half lines, silence,
 * another plug's state — on a raw TCP port, and on the far end of a real tty: a socat pty pair
 * (`socat pty,link=A pty,link=B`), the driver on A through serialport, the fake unit on B.
 */
type Responder = (address: string, cmd: string) => string | null

interface Fake {
  driver: Rps10Driver
  requests: string[]
  stop(): Promise<void>
}

function makeDriver(section: Record<string, unknown>): Rps10Driver {
  const { config, problems } = rps10Driver.validate({
    handshake: 'none',
    settle: '20ms',
    commandGap: 0,
    replyTimeout: '400ms',
    ...section,
  })
  if (problems.length) throw new Error(JSON.stringify(problems))
  return rps10Driver.create(config, { deviceId: 'fake', readSecret: () => '', log: () => {} }) as Rps10Driver
}

async function tcpFake(respond: Responder): Promise<Fake> {
  const requests: string[] = []
  const sockets = new Set<net.Socket>()
  const server = net.createServer((s) => {
    sockets.add(s)
    let buf = Buffer.alloc(0)
    s.on('data', (b: Buffer) => {
      const { requests: rs, rest } = scanRequests(Buffer.concat([buf, b]))
      buf = Buffer.from(rest)
      for (const r of rs) {
        requests.push(r.address + r.cmd)
        const out = respond(r.address, r.cmd)
        if (out !== null) s.write(out, 'latin1')
      }
    })
    s.on('error', () => {})
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as net.AddressInfo
  const driver = makeDriver({ server: `127.0.0.1:${port}` })
  return {
    driver,
    requests,
    async stop() {
      await driver.close()
      for (const s of sockets) s.destroy()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
}

async function ttyFake(respond: Responder): Promise<Fake> {
  const dir = mkdtempSync(path.join(tmpdir(), 'fg-rps10-socat-'))
  const a = path.join(dir, 'A')
  const b = path.join(dir, 'B')
  const socat: ChildProcess = spawn('socat', [`pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], {
    stdio: 'ignore',
  })
  for (let i = 0; i < 100 && !(existsSync(a) && existsSync(b)); i++)
    await new Promise((r) => setTimeout(r, 20))
  const requests: string[] = []
  const unit = new SerialPort({ path: b, baudRate: 9600 })
  await new Promise((r) => unit.once('open', r))
  let buf = Buffer.alloc(0)
  unit.on('data', (chunk: Buffer) => {
    const { requests: rs, rest } = scanRequests(Buffer.concat([buf, chunk]))
    buf = Buffer.from(rest)
    for (const r of rs) {
      requests.push(r.address + r.cmd)
      const out = respond(r.address, r.cmd)
      if (out !== null) unit.write(Buffer.from(out, 'latin1'))
    }
  })
  const driver = makeDriver({ port: a })
  return {
    driver,
    requests,
    async stop() {
      await driver.close()
      await new Promise((r) => unit.close(r))
      socat.kill('SIGTERM')
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

let fake: Fake | undefined
afterEach(async () => {
  await fake?.stop()
  fake = undefined
})

for (const [name, start] of [
  ['tcp', tcpFake],
  ['socat pty pair', ttyFake],
] as const) {
  describe(`rps10 driver against a misbehaving unit over ${name}`, () => {
    it('garbage instead of a reply: protocol error quoting it, at once', async () => {
      fake = await start(() => 'Pl\x00g 1 \xffOf\r\nComplete\r\n')
      const e = await failure(fake.driver.set('1', 'off', call()))
      expect(e.code).toBe('PROTOCOL_ERROR')
      expect(e.message).toContain('unexpected line')
      expect(e.message).toMatch(/expect: off/)
    })

    it('a half line and then silence: timeout quoting the half line', async () => {
      fake = await start(() => 'Plug 1 O')
      const e = await failure(fake.driver.status(['1'], call()))
      expect(e.code).toBe('DEVICE_TIMEOUT')
      expect(e.message).toContain('"Plug 1 O"')
    })

    it('a silent unit: timeout that says nothing came', async () => {
      fake = await start(() => null)
      const e = await failure(fake.driver.set('3', 'off', call()))
      expect(e.code).toBe('DEVICE_TIMEOUT')
      expect(e.message).toMatch(/expect: off: no complete answer within 400ms; received nothing/)
      expect(fake.requests).toEqual(['30'])
    })

    it('an answer for the wrong plug is never taken for this plug', async () => {
      fake = await start((_a, c) => (c === '?' ? 'Plug 2 Off\r\nComplete\r\n' : 'Plug 2 Off\r\nComplete\r\n'))
      const s = await failure(fake.driver.status(['1'], call()))
      expect(s.code).toBe('PROTOCOL_ERROR')
      expect(s.message).toContain('answered for plug 2, asked about plug 1')
      const o = await failure(fake.driver.set('1', 'off', call()))
      expect(o.code).toBe('PROTOCOL_ERROR')
    })

    it('an off acknowledged as On is refused', async () => {
      fake = await start((a) => `Plug ${a} On\r\nComplete\r\n`)
      const e = await failure(fake.driver.set('4', 'off', call()))
      expect(e.code).toBe('PROTOCOL_ERROR')
      expect(e.message).toContain('plug 4 reported on after off')
    })

    it('Complete without a state: a status is not invented', async () => {
      fake = await start(() => 'Complete\r\n')
      const e = await failure(fake.driver.status(['5'], call()))
      expect(e.code).toBe('PROTOCOL_ERROR')
      expect(e.message).toContain('no state reported for plug 5')
    })

    it('accepts \\n\\r line ends, a banner in the middle and blank lines', async () => {
      fake = await start((a) => `\n\rRPS-10 Ready\n\rPlug ${a} Off\n\r\n\rComplete\n\r`)
      expect((await fake.driver.status(['6'], call())).get('6')).toBe('off')
    })

    it('a chain status (*?) maps each unit; units that did not answer are unknown', async () => {
      fake = await start((a, c) =>
        a === '*' && c === '?' ? 'Plug 0 On\r\nPlug 1 Off\r\nComplete\r\n' : null,
      )
      const s = await fake.driver.status(['0', '1', '7'], call())
      expect(Object.fromEntries(s)).toEqual({ 0: 'on', 1: 'off', 7: 'unknown' })
    })
  })
}
