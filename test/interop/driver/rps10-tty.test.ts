import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { rps10Driver } from '../../../drivers/rps10/index.js'
import type { PowerDriver } from '../../../drivers/driver.js'
import { type Rps10Rig, call, startRps10 } from '../rps10-lab.js'

/**
 * The driver on a real tty made by socat, the way a lab reaches a unit through a terminal
 * server mapped to a local device: `socat pty,link=A,wait-slave TCP:<mock>`. socat connects when
 * the driver opens A; the mock sees a new connection (DTR raised) and says Ready, which the
 * driver's `banner` handshake waits for.
 */
let rig: Rps10Rig | undefined
let socat: ChildProcess | undefined
let driver: PowerDriver | undefined
afterEach(async () => {
  await driver?.close()
  socat?.kill('SIGTERM')
  await rig?.stop()
  rig = driver = socat = undefined
})

describe('rps10 driver over a socat pty (serialport on a real tty)', () => {
  it('handshakes on the banner, switches and reads units; the sim confirms', async () => {
    rig = await startRps10({ listen: '127.0.0.1:0', plugs: 3, initial: 'on' })
    const tty = path.join(rig.dir, 'ttyRPS')
    socat = spawn(
      'socat',
      [`pty,raw,echo=0,wait-slave,link=${tty}`, `TCP:127.0.0.1:${rig.mock.address.port}`],
      {
        stdio: 'ignore',
      },
    )
    for (let i = 0; i < 100 && !existsSync(tty); i++) await new Promise((r) => setTimeout(r, 20))
    const { config, problems } = rps10Driver.validate({
      port: tty,
      handshake: 'banner',
      readyTimeout: '3s',
      commandGap: '50ms',
    })
    expect(problems).toEqual([])
    driver = rps10Driver.create(config, { deviceId: 'rps', readSecret: () => '', log: () => {} })
    await driver.set('2', 'off', call())
    expect(rig.mock.sim.state('2')).toBe('off')
    expect(Object.fromEntries(await driver.status(['0', '1', '2'], call()))).toEqual({
      0: 'on',
      1: 'on',
      2: 'off',
    })
    await driver.set('2', 'on', call())
    expect(rig.mock.sim.state('2')).toBe('on')
    expect(rig.mock.sim.commands.map((c) => `${c.plug}:${c.action}`)).toEqual(['2:off', '2:on'])
  })
})
