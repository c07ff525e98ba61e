/**
 * The mocks count client sessions (DeviceSimulator.sessions, shown on the lab's control API as
 * `sessions`): for each family, two clients at once are an overlap, one after the other are not.
 * The clients are the project's own drivers (they keep their session between calls, as replica
 * mode's closeSessions expects), and for the serial line raw requests on one line.
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { PowerDriver } from '../../../drivers/driver.js'
import { createDriver, readDeviceSection } from '../../../drivers/registry.js'
import { buildControlApi } from '../../../firmware-mocks/control-api.js'
import { readLab } from '../../../firmware-mocks/lab-file.js'
import { Lab } from '../../../firmware-mocks/lab.js'
import type { NwRpc100sMock } from '../../../firmware-mocks/nw-rpc100s/mock.js'
import { COMPLETE, encodeRequest } from '../../../protocols/rps10.js'
import { readSecret } from '../../../src/config/secrets.js'

type Counts = { open: number; maxOpen: number; overlaps: number; total: number }

let lab: Lab

/** The device's counts as the control API shows them. */
async function counts(device: string): Promise<Counts> {
  const api = buildControlApi(lab)
  try {
    const res = await api.inject({ method: 'GET', url: `/devices/${device}` })
    expect(res.statusCode).toBe(200)
    return (res.json() as { sessions: Counts }).sessions
  } finally {
    await api.close()
  }
}

/** A fresh driver for a lab device, as a gateway would make it from its section. */
function driverFor(device: string): PowerDriver {
  const { config, problems } = readDeviceSection(lab.driverSections()[device]!)
  expect(problems).toEqual([])
  return createDriver(
    { kind: String(lab.driverSections()[device]!.driver), config },
    { deviceId: device, readSecret, log: () => {} },
  )
}

const call = (signal = AbortSignal.timeout(15_000)) => ({ signal })

/** Zero the device's counts (each case starts from a quiet device). */
function quiet(device: string): void {
  const c = lab.device(device)!.sim.sessions
  expect(c.open).toBe(0)
  c.maxOpen = 0
  c.overlaps = 0
  c.total = 0
}

beforeAll(async () => {
  const { lab: spec, problems } = readLab({
    devices: {
      bmc: { kind: 'bmc', listen: '127.0.0.1:0' },
      rf: { kind: 'redfish', listen: '127.0.0.1:0' },
      rfbasic: { kind: 'redfish', listen: '127.0.0.1:0', sessionService: false },
      nps: { kind: 'wti-nps', listen: '127.0.0.1:0', plugs: 4 },
      baytech: { kind: 'baytech', listen: '127.0.0.1:0', plugs: 4 },
      drac: { kind: 'drac-ssh', model: 'drac5', listen: '127.0.0.1:0' },
      rps: { kind: 'rps10', listen: '127.0.0.1:0', plugs: 2 },
      nw: { kind: 'nw-rpc100s', listen: '127.0.0.1:0' },
    },
  })
  expect(problems).toEqual([])
  lab = await Lab.start(spec)
}, 60_000)
afterAll(async () => lab?.stop())

/** Something that holds a session on the device until released. */
type Holder = () => Promise<() => Promise<void>>

/** A telnet client sitting at the console (a session from the connection on, as on the units). */
const telnetHolder =
  (device: string): Holder =>
  async () => {
    const { host, port } = (lab.device(device) as unknown as { address: { host: string; port: number } })
      .address
    const sock = net.connect(port, host)
    sock.on('error', () => {})
    await new Promise<void>((r) => sock.once('data', () => r()))
    return async () => {
      sock.destroy()
    }
  }

/** ipmitool's shell: one RMCP+ session, open until the shell exits. */
const ipmitoolHolder: Holder = async () => {
  const s = lab.driverSections().bmc!
  const child = spawn(
    'ipmitool',
    ['-I', 'lanplus', '-H', '127.0.0.1', '-p', String(s.port), '-U', String(s.user), '-E'].concat([
      '-C',
      String(s.cipherSuite),
      'shell',
    ]),
    { env: { ...process.env, IPMI_PASSWORD: readFileSync(String(s.passwordFile), 'utf8').trim() } },
  )
  const exited = new Promise((r) => child.once('close', r))
  child.stdin!.write('chassis power status\n')
  let out = ''
  child.stdout!.on('data', (b) => {
    out += b
  })
  await vi.waitFor(() => expect(out).toMatch(/Chassis Power is/), { timeout: 15_000 })
  return async () => {
    child.stdin!.end('exit\n')
    await exited
  }
}

/** The project's driver, which keeps its session between calls until close(). */
const driverHolder =
  (device: string, plug: string): Holder =>
  async () => {
    const d = driverFor(device)
    await d.status([plug], call())
    return () => d.close()
  }

// Families with sessions: the BMC (an RMCP+ session; the peer is ipmitool), Redfish (an
// X-Auth-Token), telnet consoles (WTI NPS: one at a time, the second is turned away; BayTech:
// several) and SSH (the DRAC). The second client is the project's driver each time.
const families: Record<string, { plug: string; hold: Holder }> = {
  bmc: { plug: 'chassis', hold: ipmitoolHolder },
  rf: { plug: 'system', hold: driverHolder('rf', 'system') },
  nps: { plug: '1', hold: telnetHolder('nps') },
  baytech: { plug: '1', hold: telnetHolder('baytech') },
  drac: { plug: 'system', hold: driverHolder('drac', 'system') },
}

describe.each(Object.keys(families))('%s: client sessions', (device) => {
  const { plug, hold } = families[device]!
  it('one client after the other: no overlap, and the count is on the control API', async () => {
    quiet(device)
    for (let i = 0; i < 2; i++) {
      const d = driverFor(device)
      try {
        expect((await d.status([plug], call())).get(plug)).toMatch(/^(on|off)$/)
      } finally {
        await d.close()
      }
      await vi.waitFor(async () => expect((await counts(device)).open).toBe(0), { timeout: 10_000 })
    }
    const c = await counts(device)
    expect(c.total).toBeGreaterThanOrEqual(2)
    expect(c).toMatchObject({ open: 0, maxOpen: 1, overlaps: 0 })
  }, 60_000)

  it('a second client while the first holds its session: an overlap', async () => {
    quiet(device)
    const release = await hold()
    try {
      await vi.waitFor(async () => expect((await counts(device)).open).toBe(1), { timeout: 10_000 })
      // the second client's session begins while the first one's is open (a one-session console
      // turns it away: the driver fails, and the attempt is counted all the same)
      const b = driverFor(device)
      await b.status([plug], call()).catch(() => {})
      await b.close()
      const c = await counts(device)
      expect(c.overlaps).toBeGreaterThan(0)
      expect(c.maxOpen).toBe(2)
    } finally {
      await release()
    }
    await vi.waitFor(async () => expect((await counts(device)).open).toBe(0), { timeout: 10_000 })
  }, 60_000)
})

describe('redfish with basic auth: each request is a session of its own', () => {
  it('requests one after the other do not overlap; one arriving while another is answered does', async () => {
    quiet('rfbasic')
    const d = driverFor('rfbasic')
    try {
      await d.status(['system'], call())
      await d.status(['system'], call())
      const seq = await counts('rfbasic')
      expect(seq.overlaps).toBe(0)
      expect(seq.total).toBeGreaterThanOrEqual(2)
      expect(seq.open).toBe(0)
      // hold the next request's answer back until we let it go (abort): a second one meanwhile
      lab.device('rfbasic')!.sim.faults.add({ type: 'delay', ms: 120_000, count: 1 })
      const held = new AbortController()
      const first = d.status(['system'], call(held.signal)).catch((e) => e)
      await vi.waitFor(async () => expect((await counts('rfbasic')).open).toBe(1), { timeout: 10_000 })
      await driverFor('rfbasic').status(['system'], call())
      expect((await counts('rfbasic')).overlaps).toBeGreaterThan(0)
      held.abort()
      await first
      await vi.waitFor(async () => expect((await counts('rfbasic')).open).toBe(0), { timeout: 10_000 })
    } finally {
      lab.device('rfbasic')!.sim.faults.clear()
      await d.close()
    }
  }, 60_000)
})

describe('rps10: a session on the serial line is one command exchange', () => {
  /** One line to the unit (a terminal server's TCP port), and what the unit said on it. */
  async function line(): Promise<{ sock: net.Socket; said: () => string }> {
    const { host, port } = (lab.device('rps') as unknown as { address: { host: string; port: number } })
      .address
    const sock = net.connect(port, host)
    await new Promise<void>((r, j) => sock.once('connect', r).once('error', j))
    let text = ''
    sock.on('data', (b: Buffer) => {
      text += b.toString('latin1')
    })
    await vi.waitFor(() => expect(text).toContain('RPS-10 Ready'), { timeout: 10_000 })
    return { sock, said: () => text }
  }
  const completes = (s: string) => s.split(COMPLETE).length - 1

  it('exchanges one after the other: no overlap', async () => {
    const { sock, said } = await line()
    try {
      quiet('rps')
      sock.write(encodeRequest('0', '0'))
      await vi.waitFor(() => expect(completes(said())).toBe(1), { timeout: 10_000 })
      sock.write(encodeRequest('0', '1'))
      await vi.waitFor(() => expect(completes(said())).toBe(2), { timeout: 10_000 })
      expect(await counts('rps')).toEqual({ open: 0, maxOpen: 1, overlaps: 0, total: 2 })
    } finally {
      sock.destroy()
    }
  }, 30_000)

  it('a request written while another exchange runs (a second writer on the line): an overlap', async () => {
    const { sock, said } = await line()
    try {
      quiet('rps')
      // the unit's answer (and so its Complete) is held back: the exchange stays open
      lab.device('rps')!.sim.faults.add({ type: 'delay', ms: 120_000, count: 1 })
      sock.write(encodeRequest('1', '0'))
      await vi.waitFor(async () => expect((await counts('rps')).open).toBe(1), { timeout: 10_000 })
      sock.write(encodeRequest('1', '1'))
      await vi.waitFor(async () => expect((await counts('rps')).total).toBe(2), { timeout: 10_000 })
      expect(await counts('rps')).toMatchObject({ open: 1, overlaps: 1, maxOpen: 2 })
      expect(completes(said())).toBe(0)
    } finally {
      lab.device('rps')!.sim.faults.clear()
      sock.destroy()
    }
    // the line went away: the unit's exchange is over
    await vi.waitFor(async () => expect((await counts('rps')).open).toBe(0), { timeout: 10_000 })
  }, 30_000)
})

describe('nw-rpc100s: a session on the serial line is one command and its reply', () => {
  it('commands one after the other: no overlap; one sent while a reply is held back: an overlap', async () => {
    const { host, port } = (lab.device('nw') as NwRpc100sMock).line.address
    const sock = net.connect(port, host)
    await new Promise<void>((r, j) => sock.once('connect', r).once('error', j))
    let text = ''
    sock.on('data', (b: Buffer) => {
      text += b.toString('latin1')
    })
    const oks = () => text.split('OK').length - 1
    try {
      quiet('nw')
      sock.write('//0,0,0;\r')
      await vi.waitFor(() => expect(oks()).toBe(1), { timeout: 10_000 })
      sock.write('//0,0,0;\r')
      await vi.waitFor(() => expect(oks()).toBe(2), { timeout: 10_000 })
      expect(await counts('nw')).toEqual({ open: 0, maxOpen: 1, overlaps: 0, total: 2 })
      lab.device('nw')!.sim.faults.add({ type: 'delay', ms: 120_000, count: 1 })
      sock.write('//0,0,0;\r')
      await vi.waitFor(async () => expect((await counts('nw')).open).toBe(1), { timeout: 10_000 })
      sock.write('//0,0,0;\r')
      await vi.waitFor(() => expect(oks()).toBe(3), { timeout: 10_000 })
      expect(await counts('nw')).toMatchObject({ open: 1, overlaps: 1, maxOpen: 2, total: 4 })
    } finally {
      lab.device('nw')!.sim.faults.clear()
      sock.destroy()
    }
    await vi.waitFor(async () => expect((await counts('nw')).open).toBe(0), { timeout: 10_000 })
  }, 30_000)
})
