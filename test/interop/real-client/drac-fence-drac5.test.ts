/**
 * The DRAC SSH mock judged by fence-agents' fence_drac5 --ssh (Debian), which logs in with
 * OpenSSH's own client, detects DRAC 5 or CMC from the banner and runs racadm. OpenSSH checks
 * the mock's host key against a known_hosts file (StrictHostKeyChecking=yes), so the stable
 * host key is judged too. Every state is confirmed on the lab's control API.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import ssh2 from 'ssh2'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildControlApi } from '../../../firmware-mocks/control-api.js'
import type { DracSshMock } from '../../../firmware-mocks/drac-ssh/mock.js'
import { readLab } from '../../../firmware-mocks/lab-file.js'
import { Lab } from '../../../firmware-mocks/lab.js'

const PASSWORD = 'Drac-Secret-5'

interface Run {
  code: number
  stdout: string
  stderr: string
}

let lab: Lab
let control: ReturnType<typeof buildControlApi>
let dir: string

function exec(file: string, args: string[], input: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { timeout: 90_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    )
    child.stdin?.end(input)
  })
}

async function labState(device: string, plug: string): Promise<string> {
  const res = await control.inject({ method: 'GET', url: `/devices/${device}` })
  expect(res.statusCode).toBe(200)
  return res.json().plugs.find((p: { id: string }) => p.id === plug).state
}

async function setLab(device: string, plug: string, state: 'on' | 'off'): Promise<void> {
  const res = await control.inject({
    method: 'PUT',
    url: `/devices/${device}/plugs/${plug}`,
    payload: { state },
  })
  expect(res.statusCode).toBeLessThan(300)
}

/** fence_drac5 --ssh with its options on stdin, the host key pinned in a known_hosts file. */
function fenceDrac5(device: string, action: string, extra: Record<string, string> = {}): Promise<Run> {
  const m = lab.device(device) as DracSshMock
  const o: Record<string, string> = {
    action,
    ip: '127.0.0.1',
    ipport: String(m.address.port),
    username: 'fence',
    password: PASSWORD,
    secure: '1',
    ssh_options: `-o StrictHostKeyChecking=yes -o UserKnownHostsFile=${path.join(dir, 'known_hosts')} -o LogLevel=ERROR`,
    ...extra,
  }
  return exec(
    'fence_drac5',
    [],
    `${Object.entries(o)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')}\n`,
  )
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'fencegate-drac5-'))
  const users = [{ name: 'fence', password: PASSWORD }]
  const { lab: spec, problems } = readLab({
    devices: {
      drac5: { kind: 'drac-ssh', model: 'drac5', listen: '127.0.0.1:0', transitionDelay: '200ms', users },
      cmc: {
        kind: 'drac-ssh',
        model: 'cmc',
        listen: '127.0.0.1:0',
        plugs: 4,
        transitionDelay: '200ms',
        users,
      },
    },
  })
  expect(problems).toEqual([])
  lab = await Lab.start(spec)
  control = buildControlApi(lab)
  const lines = ['drac5', 'cmc'].map((id) => {
    const m = lab.device(id) as DracSshMock
    const pub = ssh2.utils.parseKey(m.hostKey) as ssh2.ParsedKey
    return `[127.0.0.1]:${m.address.port} ${pub.type} ${pub.getPublicSSH().toString('base64')}`
  })
  writeFileSync(path.join(dir, 'known_hosts'), `${lines.join('\n')}\n`)
})

afterAll(async () => {
  await control?.close()
  await lab?.stop()
  rmSync(dir, { recursive: true, force: true })
})

describe('fence_drac5 --ssh against the DRAC 5 mock', () => {
  it('status reads on, then off (exit 2) after the lab switches the server off', async () => {
    await setLab('drac5', 'system', 'on')
    const on = await fenceDrac5('drac5', 'status')
    expect(on.stdout).toMatch(/Status: ON/)
    expect(on.code).toBe(0)
    await setLab('drac5', 'system', 'off')
    const off = await fenceDrac5('drac5', 'status')
    expect(off.stdout).toMatch(/Status: OFF/)
    expect(off.code).toBe(2)
  })

  it('off: racadm serveraction powerdown; the server is off on the control API', async () => {
    await setLab('drac5', 'system', 'on')
    const m = lab.device('drac5') as DracSshMock
    const from = m.records.length
    const r = await fenceDrac5('drac5', 'off')
    expect(r.stdout).toMatch(/Success: Powered OFF/)
    expect(r.code).toBe(0)
    expect(await labState('drac5', 'system')).toBe('off')
    expect(m.records.slice(from).map((x) => x.line)).toContain('racadm serveraction powerdown')
  })

  it('on: racadm serveraction powerup; the server is on on the control API', async () => {
    await setLab('drac5', 'system', 'off')
    const r = await fenceDrac5('drac5', 'on')
    expect(r.stdout).toMatch(/Success: Powered ON/)
    expect(r.code).toBe(0)
    expect(await labState('drac5', 'system')).toBe('on')
  })

  it('a wrong password fails and switches nothing', async () => {
    await setLab('drac5', 'system', 'on')
    const m = lab.device('drac5') as DracSshMock
    const before = m.sim.commands.length
    const r = await fenceDrac5('drac5', 'off', { password: 'not-the-password' })
    expect(r.code).not.toBe(0)
    expect(m.sim.commands.length).toBe(before)
    expect(await labState('drac5', 'system')).toBe('on')
  })
})

describe('fence_drac5 --ssh against the CMC mock (one plug per slot)', () => {
  it('list shows the present server modules from getmodinfo', async () => {
    await setLab('cmc', 'server-2', 'off')
    const r = await fenceDrac5('cmc', 'list')
    expect(r.code).toBe(0)
    for (const n of [1, 2, 3, 4]) expect(r.stdout).toMatch(new RegExp(`^server-${n},`, 'm'))
  })

  it('status, off and on of server-3 with -m server-3; the other slots untouched', async () => {
    await setLab('cmc', 'server-3', 'on')
    await setLab('cmc', 'server-4', 'on')
    const st = await fenceDrac5('cmc', 'status', { plug: 'server-3' })
    expect(st.stdout).toMatch(/Status: ON/)
    const off = await fenceDrac5('cmc', 'off', { plug: 'server-3' })
    expect(off.stdout).toMatch(/Success: Powered OFF/)
    expect(await labState('cmc', 'server-3')).toBe('off')
    expect(await labState('cmc', 'server-4')).toBe('on')
    const m = lab.device('cmc') as DracSshMock
    expect(m.records.map((x) => x.line)).toContain('racadm serveraction powerdown -m server-3')
    const on = await fenceDrac5('cmc', 'on', { plug: 'server-3' })
    expect(on.stdout).toMatch(/Success: Powered ON/)
    expect(await labState('cmc', 'server-3')).toBe('on')
  })
})
