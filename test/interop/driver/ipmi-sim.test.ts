/**
 * Our driver against a BMC nobody here wrote: OpenIPMI's ipmi_sim (Debian openipmi), set up
 * as in shared/reference/ipmi-drac-redfish.md §5. It has no suite 17, so suite 3. Its chassis
 * power is a shell script that keeps the state in a file and logs every request, so the test
 * sees what the BMC itself did.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import dgram from 'node:dgram'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createDriver, readDeviceSection } from '../../../drivers/registry.js'
import type { IpmiDriver } from '../../../drivers/ipmi/driver.js'
import { readSecret } from '../../../src/config/secrets.js'

const dir = mkdtempSync(path.join(tmpdir(), 'fencegate-ipmisim-'))
const powerFile = path.join(dir, 'power')
const logFile = path.join(dir, 'chassis.log')
let sim: ChildProcess | undefined
let port = 0
const logs: string[] = []

async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4')
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()))
  const p = s.address().port
  await new Promise<void>((r) => s.close(() => r()))
  return p
}

function driver(over: Record<string, unknown> = {}): IpmiDriver {
  const passwordFile = path.join(dir, 'pw')
  writeFileSync(passwordFile, 'opsecret', { mode: 0o600 })
  const { config, problems } = readDeviceSection({
    driver: 'ipmi',
    host: '127.0.0.1',
    port,
    user: 'oper',
    passwordFile,
    cipherSuite: 3,
    deviceCycle: true,
    ...over,
  })
  expect(problems).toEqual([])
  return createDriver(
    { kind: 'ipmi', config },
    { deviceId: 'ipmisim', readSecret, log: (level, msg) => logs.push(`${level} ${msg}`) },
  ) as IpmiDriver
}

const call = () => ({ signal: AbortSignal.timeout(10_000) })
const chassisLog = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n') : [])

beforeAll(async () => {
  port = await freeUdpPort()
  writeFileSync(powerFile, '1\n')
  writeFileSync(
    path.join(dir, 'chassiscontrol.sh'),
    `#!/bin/sh
# ipmi_sim runs: <this> <dev> get power | set power 0|1 | set reset 1 | set shutdown 1 | set boot X
f='${powerFile}'
dev=$1; shift
echo "$*" >> '${logFile}'
case "$1 $2" in
  "get power") echo "power:$(cat "$f")";;
  "set power") echo "$3" > "$f";;
  "set reset") ;;
  "set boot") ;;
  "set shutdown") echo 0 > "$f";;
  *) exit 1;;
esac
`,
  )
  chmodSync(path.join(dir, 'chassiscontrol.sh'), 0o755)
  writeFileSync(
    path.join(dir, 'lan.conf'),
    `name "fencesim"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 ${port}
    priv_limit admin
    allowed_auths_callback md5
    allowed_auths_user md5
    allowed_auths_operator md5
    allowed_auths_admin md5
    guid a123456789abcdefa123456789abcdef
  endlan
  chassis_control "${path.join(dir, 'chassiscontrol.sh')} 0x20"
  user 2   true  "admin"  "secret"   admin    10       md5
  user 3   true  "oper"   "opsecret" operator 10       md5
`,
  )
  writeFileSync(
    path.join(dir, 'fencesim.emu'),
    'mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr\nmc_enable 0x20\n',
  )
  mkdirSync(path.join(dir, 'state'))
  sim = spawn(
    'ipmi_sim',
    [
      '-c',
      path.join(dir, 'lan.conf'),
      '-f',
      path.join(dir, 'fencesim.emu'),
      '-s',
      path.join(dir, 'state'),
      '-n',
      '-p',
    ],
    { stdio: 'ignore' },
  )
  // up when it answers a session: poll with the driver itself
  const d = driver({ unreachableTimeout: '300ms' })
  await vi.waitFor(() => d.status(['chassis'], call()), { timeout: 8000, interval: 200 })
})

afterAll(async () => {
  if (sim?.pid && sim.exitCode === null) {
    const gone = new Promise((r) => sim!.once('exit', r))
    process.kill(sim.pid, 'SIGTERM')
    await gone
  }
  rmSync(dir, { recursive: true, force: true })
})

describe('ipmi driver ↔ OpenIPMI ipmi_sim (suite 3)', () => {
  it('status, off, on: the BMC switched its chassis and reads it back', async () => {
    const d = driver()
    expect((await d.status(['chassis'], call())).get('chassis')).toBe('on')
    await d.set('chassis', 'off', call())
    expect(readFileSync(powerFile, 'utf8').trim()).toBe('0')
    expect((await d.status(['chassis'], call())).get('chassis')).toBe('off')
    await d.set('chassis', 'on', call())
    expect(readFileSync(powerFile, 'utf8').trim()).toBe('1')
    expect((await d.status(['chassis'], call())).get('chassis')).toBe('on')
    expect(chassisLog()).toEqual(expect.arrayContaining(['set power 0', 'set power 1']))
  })

  it('cycle: off then on by the BMC; a cycle of a chassis that is off powers it on', async () => {
    const d = driver()
    writeFileSync(logFile, '')
    await d.set('chassis', 'cycle', call())
    // ipmi_sim powers down, then polls and powers up about a second later
    await vi.waitFor(
      () =>
        expect(chassisLog().filter((l) => l.startsWith('set power'))).toEqual(['set power 0', 'set power 1']),
      {
        timeout: 6000,
        interval: 100,
      },
    )
    expect((await d.status(['chassis'], call())).get('chassis')).toBe('on')
    await d.set('chassis', 'off', call())
    writeFileSync(logFile, '')
    await d.set('chassis', 'cycle', call())
    expect(chassisLog().filter((l) => l.startsWith('set'))).toEqual(['set power 1'])
    expect((await d.status(['chassis'], call())).get('chassis')).toBe('on')
  })

  it('warns that the BMC enables cipher suite 0, and refuses suite 17 it lacks', async () => {
    expect(logs.some((l) => /enables cipher suite 0/.test(l))).toBe(true)
    const e = await driver({ cipherSuite: 17 })
      .status(['chassis'], call())
      .catch((x) => x)
    expect(e.code).toBe('DEVICE_ERROR')
    expect(e.message).toMatch(/does not offer cipher suite 17.*set cipherSuite: 3/)
  })

  it('a wrong password is refused (RAKP2 HMAC)', async () => {
    writeFileSync(path.join(dir, 'pw-wrong'), 'not-opsecret', { mode: 0o600 })
    const e = await driver({ passwordFile: path.join(dir, 'pw-wrong') })
      .status(['chassis'], call())
      .catch((x) => x)
    expect(e.code).toBe('AUTH_REFUSED')
    expect(e.message).not.toContain('not-opsecret')
  })
})
