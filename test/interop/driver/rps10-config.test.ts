import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { readDeviceSection } from '../../../drivers/registry.js'
import { rps10Driver } from '../../../drivers/rps10/index.js'
import { readLab } from '../../../firmware-mocks/lab-file.js'
import { call, startRps10 } from '../rps10-lab.js'

const messages = (ps: { path: (string | number)[]; message: string }[]) =>
  ps.map((p) => `${p.path.join('.')}: ${p.message}`)

describe('rps10 driver config', () => {
  it('reads a tty section with defaults from the unit and cluster-glue', () => {
    const { config, problems } = rps10Driver.validate({ port: '/dev/ttyS1' })
    expect(problems).toEqual([])
    expect(config).toMatchObject({
      port: '/dev/ttyS1',
      baud: 9600,
      handshake: 'dtr',
      dtrLowMs: 2000,
      readyTimeoutMs: 12_000,
      commandGapMs: 500,
      replyTimeoutMs: 5000,
    })
    expect(readDeviceSection({ driver: 'rps10', port: '/dev/ttyS1' }).deviceCycle).toBe(false)
    expect(rps10Driver.validate({ port: '/dev/ttyS1', baud: 2400 }).config.commandGapMs).toBe(1500)
  })

  it('reports every mistake with its field', () => {
    const { problems } = rps10Driver.validate({
      port: '/dev/ttyS1',
      server: '10.0.0.9:4001',
      baud: 19200,
      handshake: 'dtr',
      units: [1, 12],
      replyTimeuot: '1s',
    })
    expect(messages(problems)).toEqual([
      'server: give port or server, not both',
      'baud: an RPS-10 runs at 9600 or 2400 baud (DIP switch), got 19200',
      'handshake: a TCP terminal server carries no DTR: use banner or none (see docs/drivers/rps10.md)',
      'units: expected a list of unit addresses 0-9',
      'replyTimeuot: unknown field (did you mean replyTimeout?)',
    ])
    expect(messages(rps10Driver.validate({}).problems)).toEqual([
      'port: required: port (a tty such as /dev/ttyS1) or server (HOST:PORT)',
    ])
  })

  it('the examples in docs/drivers/rps10.md are valid', () => {
    const doc = readFileSync(new URL('../../../docs/drivers/rps10.md', import.meta.url), 'utf8')
    const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parse(m[1]!))
    expect(blocks.length).toBe(3)
    for (const b of blocks.slice(0, 2)) {
      const { driver, ...section } = b.devices.rps
      expect(driver).toBe('rps10')
      expect(messages(rps10Driver.validate(section).problems)).toEqual([])
    }
    expect(messages(readLab(blocks[2]).problems)).toEqual([])
  })
})

describe('rps10 mock lab section', () => {
  it('refuses what a chain cannot be', () => {
    const { problems } = readLab({
      devices: {
        a: { kind: 'rps10', plugs: 11, listen: '127.0.0.1:0', pty: '/tmp/x' },
        b: { kind: 'rps10', plugs: ['1', 'x'], listen: '127.0.0.1:0', baud: 4800 },
        c: { kind: 'rps10', plugs: 2 },
      },
    })
    expect(messages(problems)).toEqual([
      'devices.a.pty: an RPS-10 line is either pty: PATH or listen: HOST:PORT',
      'devices.a.plugs: a chain has 1 to 10 units (ids 0…N-1)',
      'devices.b.plugs: plug ids are distinct unit addresses 0-9',
      'devices.b.baud: 9600 or 2400 (DIP switch), got 4800',
      'devices.c.pty: an RPS-10 line is either pty: PATH or listen: HOST:PORT',
    ])
  })
})

describe('rps10 connect failures', () => {
  it('an unreachable terminal server: connect error, then backoff refuses at once', async () => {
    const { config } = rps10Driver.validate({ server: '127.0.0.1:1', settle: '10ms' })
    const logged: string[] = []
    const d = rps10Driver.create(config, {
      deviceId: 'rps',
      readSecret: () => '',
      log: (level, msg, fields) => logged.push(`${level} ${msg} ${String(fields?.line)}`),
    })
    await expect(d.status(['0'], call())).rejects.toMatchObject({
      code: 'DEVICE_UNREACHABLE',
      message: expect.stringMatching(/^rps: 127\.0\.0\.1:1: connect: connect failed: ECONNREFUSED/),
    })
    await expect(d.status(['0'], call())).rejects.toMatchObject({
      code: 'DEVICE_UNREACHABLE',
      message: expect.stringMatching(/connect: not retrying for \d+ms after: .*ECONNREFUSED/),
    })
    // the failed open is logged once (the refusal during the backoff is not another attempt)
    expect(logged).toEqual(['warn serial line not ready 127.0.0.1:1'])
    await d.close()
  })

  it('a missing tty: connect error naming the path', async () => {
    const { config } = rps10Driver.validate({ port: '/nonexistent/ttyRPS' })
    const d = rps10Driver.create(config, { deviceId: 'rps', readSecret: () => '', log: () => {} })
    await expect(d.set('0', 'off', call())).rejects.toMatchObject({
      code: 'DEVICE_UNREACHABLE',
      message: expect.stringMatching(/^rps: \/nonexistent\/ttyRPS: connect: cannot open/),
    })
    await d.close()
  })

  it('the mock gone and back: the driver reconnects on a later call', async () => {
    const rig = await startRps10({ listen: '127.0.0.1:0', plugs: 1, initial: 'on' })
    try {
      await rig.driver.status(['0'], call())
      const port = rig.mock.address.port
      await rig.mock.stop()
      await expect(rig.driver.status(['0'], call())).rejects.toMatchObject({ transient: true })
      // a new chain on the same port (the terminal server restarted)
      const again = await startRps10({ listen: `127.0.0.1:${port}`, plugs: 1, initial: 'off' })
      try {
        let state: string | undefined
        for (let i = 0; i < 20 && state === undefined; i++)
          state = await rig.driver.status(['0'], call()).then(
            (m) => m.get('0'),
            async () => {
              await new Promise((r) => setTimeout(r, 250))
              return undefined
            },
          )
        expect(state).toBe('off')
      } finally {
        await again.stop()
      }
    } finally {
      await rig.stop()
    }
  })
})
