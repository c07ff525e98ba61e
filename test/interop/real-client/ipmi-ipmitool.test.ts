/**
 * The mock BMC judged by clients nobody here wrote: Debian's ipmitool (-I lanplus) and
 * fence-agents' fence_ipmilan (--lanplus). If they cannot drive it, the mock is wrong.
 *
 * No timing thresholds: "no 10-second cipher-suite fallback" is checked on what the BMC
 * received (Get Channel Cipher Suites answered with cc 0, no request sent twice) and on
 * ipmitool's own output (it prints "Unable to Get Channel Cipher Suites" when it falls back).
 */
import { execFile } from 'node:child_process'
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import type { BmcMock, BmcRecord } from '../../../firmware-mocks/bmc/mock.js'
import { startBmc } from '../../../firmware-mocks/bmc/standalone.js'

const USERS = {
  admin: { password: 'adm-Secret-1', privilege: 'administrator' },
  oper: { password: 'op-Secret-22', privilege: 'operator' },
  viewer: { password: 'vw-Secret-333', privilege: 'user' },
} as const
type UserName = keyof typeof USERS

interface Run {
  code: number
  stdout: string
  stderr: string
  /** What the BMC received during this run. */
  records: BmcRecord[]
}

function exec(
  bmc: BmcMock,
  file: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<Run> {
  const from = bmc.records.length
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      { timeout: 15_000, env: { ...process.env, ...opts.env } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0
        resolve({ code, stdout, stderr, records: bmc.records.slice(from) })
      },
    )
    if (opts.input !== undefined) child.stdin?.end(opts.input)
  })
}

/** ipmitool -I lanplus, password through the environment (-E), as an operator would. */
function ipmitool(bmc: BmcMock, user: UserName | 'nobody', extra: string[], password?: string): Promise<Run> {
  const pw = password ?? (user === 'nobody' ? 'whatever-pw' : USERS[user].password)
  return exec(
    bmc,
    'ipmitool',
    ['-I', 'lanplus', '-H', '127.0.0.1', '-p', String(bmc.address.port), '-U', user, '-E', ...extra],
    { env: { IPMI_PASSWORD: pw } },
  )
}

/** fence_ipmilan with its options on stdin, the way Pacemaker's fencer runs it. */
function fenceIpmilan(bmc: BmcMock, action: string, opts: Record<string, string> = {}): Promise<Run> {
  const o: Record<string, string> = {
    action,
    ip: '127.0.0.1',
    ipport: String(bmc.address.port),
    username: 'admin',
    password: USERS.admin.password,
    lanplus: '1',
    ...opts,
  }
  return exec(bmc, 'fence_ipmilan', [], {
    input: `${Object.entries(o)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')}\n`,
  })
}

/** The run went through without ipmitool's cipher-suite fallback and without any retransmission. */
function expectCleanSession(r: Run, suite: number): void {
  expect(r.stderr).not.toMatch(/Unable to Get Channel Cipher Suites/)
  const suites = r.records.filter((x) => x.kind === 'command' && x.netFn === 0x06 && x.cmd === 0x54)
  for (const s of suites) expect(s).toMatchObject({ answered: true, status: 0 })
  const opens = r.records.filter((x) => x.kind === 'open')
  expect(opens).toHaveLength(1)
  expect(opens[0]).toMatchObject({ suite, status: 0 })
  // a retransmission is the same request again: same framing, session, command and rqSeq
  const keys = r.records.map(
    (x) => `${x.peer} ${x.framing} ${x.kind} ${x.sessionId} ${x.netFn} ${x.cmd} ${x.rqSeq}`,
  )
  expect(new Set(keys).size).toBe(keys.length)
  expect(r.records.every((x) => x.answered)).toBe(true)
  // and the session was closed
  expect(r.records.at(-1)).toMatchObject({ kind: 'command', netFn: 0x06, cmd: 0x3c, status: 0 })
}

let bmc: BmcMock
const users = Object.entries(USERS).map(([name, u]) => ({ name, ...u }))

beforeAll(async () => {
  bmc = await startBmc({ users })
  bmc.sim.cycleOffMs = 100
})
afterAll(async () => {
  await bmc?.stop()
})
beforeEach(() => {
  bmc.sim.faults.clear()
  bmc.sim.setPhysical('chassis', 'on')
})

describe.each([
  { label: 'default cipher choice', args: [] as string[], suite: 17 },
  { label: '-C 17', args: ['-C', '17'], suite: 17 },
  { label: '-C 3', args: ['-C', '3'], suite: 3 },
])('ipmitool -I lanplus, $label', ({ args, suite }) => {
  it('chassis power status / off / on', async () => {
    let r = await ipmitool(bmc, 'admin', [...args, 'chassis', 'power', 'status'])
    expect(r.stdout).toContain('Chassis Power is on')
    expect(r.code).toBe(0)
    expectCleanSession(r, suite)
    // with no -C, ipmitool asks Get Channel Cipher Suites (RMCP+ framing) and picks 17 from it
    if (args.length === 0)
      expect(
        r.records.filter((x) => x.cmd === 0x54 && x.framing === 'v20' && x.status === 0).length,
      ).toBeGreaterThan(0)

    r = await ipmitool(bmc, 'admin', [...args, 'chassis', 'power', 'off'])
    expect(r.stdout).toContain('Chassis Power Control: Down/Off')
    expectCleanSession(r, suite)
    expect(bmc.sim.state('chassis')).toBe('off')
    r = await ipmitool(bmc, 'admin', [...args, 'chassis', 'power', 'status'])
    expect(r.stdout).toContain('Chassis Power is off')

    r = await ipmitool(bmc, 'admin', [...args, 'chassis', 'power', 'on'])
    expect(r.stdout).toContain('Chassis Power Control: Up/On')
    expectCleanSession(r, suite)
    expect(bmc.sim.state('chassis')).toBe('on')
  })

  it('chassis power cycle / reset', async () => {
    const before = bmc.controls.length
    let r = await ipmitool(bmc, 'oper', [...args, '-L', 'OPERATOR', 'chassis', 'power', 'cycle'])
    expect(r.stdout).toContain('Chassis Power Control: Cycle')
    expect(r.code).toBe(0)
    expectCleanSession(r, suite)
    await vi.waitFor(() => expect(bmc.sim.state('chassis')).toBe('on'))
    r = await ipmitool(bmc, 'admin', [...args, 'chassis', 'power', 'reset'])
    expect(r.stdout).toContain('Chassis Power Control: Reset')
    expectCleanSession(r, suite)
    expect(bmc.controls.slice(before).map((c) => [c.action, c.cc, c.applied])).toEqual([
      ['cycle', 0, true],
      ['reset', 0, true],
    ])
  })
})

describe('ipmitool against a BMC that offers suite 3 only', () => {
  it('picks suite 3 from Get Channel Cipher Suites, without fallback', async () => {
    const old = await startBmc({ users, cipherSuites: [3] })
    try {
      const r = await ipmitool(old, 'admin', ['chassis', 'power', 'status'])
      expect(r.stdout).toContain('Chassis Power is on')
      expectCleanSession(r, 3)
      expect(r.records.some((x) => x.cmd === 0x54 && x.framing === 'v20')).toBe(true)
    } finally {
      await old.stop()
    }
  })
})

describe('ipmitool refusals', () => {
  it('a cycle of a chassis that is off: "not supported in present state" (0xD5), as real BMCs', async () => {
    bmc.sim.setPhysical('chassis', 'off')
    const r = await ipmitool(bmc, 'admin', ['chassis', 'power', 'cycle'])
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/Command not supported in present state/)
    expect(bmc.sim.state('chassis')).toBe('off')
  })

  it('wrong password: RAKP2 HMAC invalid, no session', async () => {
    const r = await ipmitool(bmc, 'admin', ['-v', 'chassis', 'power', 'status'], 'not-the-password')
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/RAKP 2 HMAC is invalid/)
    expect(r.stderr).toMatch(/Unable to establish IPMI v2 \/ RMCP\+ session/)
    expect(r.stdout).not.toMatch(/Chassis Power is/)
  })

  it('unknown user: RAKP2 "unauthorized name"', async () => {
    const r = await ipmitool(bmc, 'nobody', ['-v', 'chassis', 'power', 'status'])
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/unauthorized name/)
  })

  it('under-privileged user: no ADMINISTRATOR session; at USER level status works and control is refused (0xD4)', async () => {
    let r = await ipmitool(bmc, 'viewer', ['-v', 'chassis', 'power', 'status'])
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/RAKP 2 message indicates an error : unauthorized role/)
    r = await ipmitool(bmc, 'viewer', ['-L', 'USER', 'chassis', 'power', 'status'])
    expect(r.stdout).toContain('Chassis Power is on')
    r = await ipmitool(bmc, 'viewer', ['-L', 'USER', 'chassis', 'power', 'off'])
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/Insufficient privilege level/)
    expect(bmc.sim.state('chassis')).toBe('on')
    r = await ipmitool(bmc, 'viewer', ['-L', 'OPERATOR', 'chassis', 'power', 'off'])
    expect(r.code).not.toBe(0)
    expect(bmc.sim.state('chassis')).toBe('on')
  })

  it('IPMI v1.5 (-I lan) finds no usable authentication type', async () => {
    const r = await exec(
      bmc,
      'ipmitool',
      [
        '-I',
        'lan',
        '-H',
        '127.0.0.1',
        '-p',
        String(bmc.address.port),
        '-U',
        'admin',
        '-E',
        '-N',
        '1',
        '-R',
        '1',
        'chassis',
        'power',
        'status',
      ],
      {
        env: { IPMI_PASSWORD: USERS.admin.password },
      },
    )
    expect(r.code).not.toBe(0)
    expect(r.stdout).not.toMatch(/Chassis Power is/)
  })
})

describe('fence_ipmilan --lanplus', () => {
  it('status, off, on', async () => {
    let r = await fenceIpmilan(bmc, 'status')
    expect(r.stdout).toMatch(/Status: ON/)
    expect(r.code).toBe(0)
    r = await fenceIpmilan(bmc, 'off', { power_wait: '0' })
    expect(r.stdout).toMatch(/Success: Powered OFF/)
    expect(r.code).toBe(0)
    expect(bmc.sim.state('chassis')).toBe('off')
    r = await fenceIpmilan(bmc, 'status')
    expect(r.stdout).toMatch(/Status: OFF/)
    expect(r.code).toBe(2)
    r = await fenceIpmilan(bmc, 'on', { power_wait: '0' })
    expect(r.stdout).toMatch(/Success: Powered ON/)
    expect(bmc.sim.state('chassis')).toBe('on')
  })

  it('reboot (off, verify, on) with the default power_wait', async () => {
    const before = bmc.controls.length
    const r = await fenceIpmilan(bmc, 'reboot')
    expect(r.stdout).toMatch(/Success: Rebooted/)
    expect(r.code).toBe(0)
    expect(bmc.controls.slice(before).map((c) => c.action)).toEqual(['down', 'up'])
    expect(bmc.sim.state('chassis')).toBe('on')
  })

  it('wrong password, unknown user and an under-privileged user fail the action', async () => {
    let r = await fenceIpmilan(bmc, 'off', { password: 'wrong-password' })
    expect(r.code).toBe(1)
    r = await fenceIpmilan(bmc, 'off', { username: 'nobody' })
    expect(r.code).toBe(1)
    r = await fenceIpmilan(bmc, 'off', {
      username: 'viewer',
      password: USERS.viewer.password,
      power_wait: '0',
    })
    expect(r.code).toBe(1)
    r = await fenceIpmilan(bmc, 'off', {
      username: 'viewer',
      password: USERS.viewer.password,
      privlvl: 'user',
      power_wait: '0',
      power_timeout: '2',
    })
    expect(r.code).toBe(1)
    expect(bmc.sim.state('chassis')).toBe('on')
  })
})
