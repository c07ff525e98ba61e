/**
 * The Redfish mock judged by clients nobody here wrote, from Debian: fence-agents'
 * fence_redfish (--ssl-insecure), DMTF's redfishtool (basic and session auth) and OpenStack's
 * sushy library. Every state a client reports or sets is confirmed on the lab's control API.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { buildControlApi } from '../../../firmware-mocks/control-api.js'
import { readLab } from '../../../firmware-mocks/lab-file.js'
import { Lab } from '../../../firmware-mocks/lab.js'
import type { RedfishMock } from '../../../firmware-mocks/redfish/mock.js'

const PASSWORD = 'Rf-Secret-42'

interface Run {
  code: number
  stdout: string
  stderr: string
}

function exec(
  file: string,
  args: string[],
  input?: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { timeout: 60_000, env }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    )
    if (input !== undefined) child.stdin?.end(input)
  })
}

let lab: Lab
let mock: RedfishMock
let control: ReturnType<typeof buildControlApi>

/** The machine's state as the lab's control API reports it. */
async function labState(): Promise<string> {
  const res = await control.inject({ method: 'GET', url: '/devices/idrac' })
  expect(res.statusCode).toBe(200)
  return res.json().plugs[0].state
}

async function setLab(state: 'on' | 'off'): Promise<void> {
  const res = await control.inject({ method: 'PUT', url: '/devices/idrac/plugs/system', payload: { state } })
  expect(res.statusCode).toBeLessThan(300)
}

/** fence_redfish with its options on stdin, as Pacemaker's fencer runs it. */
function fenceRedfish(action: string, extra: Record<string, string> = {}): Promise<Run> {
  const o: Record<string, string> = {
    action,
    ip: '127.0.0.1',
    ipport: String(mock.address.port),
    username: 'fence',
    password: PASSWORD,
    ssl_insecure: '1',
    ...extra,
  }
  const input = `${Object.entries(o)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`
  return exec('fence_redfish', [], input)
}

function resets(from: number): string[] {
  return mock.records.slice(from).flatMap((r) => (r.resetType ? [`${r.resetType} ${r.status}`] : []))
}

beforeAll(async () => {
  const { lab: spec, problems } = readLab({
    devices: {
      idrac: {
        kind: 'redfish',
        listen: '127.0.0.1:0',
        transitionDelay: '300ms',
        users: [
          { name: 'root', password: 'calvin', role: 'Administrator' },
          { name: 'fence', password: PASSWORD, role: 'Operator' },
          { name: 'viewer', password: 'view-only-1', role: 'ReadOnly' },
        ],
      },
    },
  })
  expect(problems).toEqual([])
  lab = await Lab.start(spec)
  mock = lab.device('idrac') as RedfishMock
  control = buildControlApi(lab)
})

afterAll(async () => {
  await control?.close()
  await lab?.stop()
})

describe('fence_redfish (fence-agents) against the Redfish mock', () => {
  beforeEach(async () => setLab('on'))

  it('status reads on, then off after the lab switches the machine off', async () => {
    const on = await fenceRedfish('status')
    expect(on.stdout).toMatch(/Status: ON/)
    expect(on.code).toBe(0)
    await setLab('off')
    const off = await fenceRedfish('status')
    expect(off.stdout).toMatch(/Status: OFF/)
    expect(off.code).toBe(2) // the fence-agent convention: status of an off machine exits 2
  })

  it('off: ForceOff, and the machine is off on the control API', async () => {
    const from = mock.records.length
    const r = await fenceRedfish('off')
    expect(r.stdout).toMatch(/Success: Powered OFF/)
    expect(r.code).toBe(0)
    expect(await labState()).toBe('off')
    expect(resets(from)).toEqual(['ForceOff 204'])
  })

  it('on: On, and the machine is on on the control API', async () => {
    await setLab('off')
    const from = mock.records.length
    const r = await fenceRedfish('on')
    expect(r.stdout).toMatch(/Success: Powered ON/)
    expect(r.code).toBe(0)
    expect(resets(from)).toEqual(['On 204'])
    // fence_redfish counts anything but Off as on (PoweringOn too): the lab sees on a moment later
    await expect.poll(labState, { timeout: 10_000 }).toBe('on')
  })

  it('reboot: ForceOff then On (never a graceful reset), ending on', async () => {
    const from = mock.records.length
    const r = await fenceRedfish('reboot')
    expect(r.stdout).toMatch(/Success: Rebooted/)
    expect(r.code).toBe(0)
    expect(resets(from)).toEqual(['ForceOff 204', 'On 204'])
    expect(mock.sim.commands.slice(-2).map((c) => c.action)).toEqual(['off', 'on'])
    // fence_redfish takes PoweringOn for on: the lab sees on a moment later
    await expect.poll(labState, { timeout: 10_000 }).toBe('on')
  })

  it('list: the agent has no outlet list for Redfish and says so; it still logs in and discovers', async () => {
    const from = mock.records.length
    const r = await fenceRedfish('list')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/List option is not working on this device/)
    expect(mock.records.slice(from).map((x) => `${x.method} ${x.path} ${x.status}`)).toContain(
      'GET /redfish/v1/Systems 200',
    )
  })

  it('a wrong password fails, and nothing is switched', async () => {
    const before = mock.sim.commands.length
    const r = await fenceRedfish('off', { password: 'wrong-password' })
    expect(r.code).not.toBe(0)
    expect(mock.sim.commands.length).toBe(before)
    expect(await labState()).toBe('on')
  })

  it('the ReadOnly role gets 403 for a reset, and the agent does not report success', async () => {
    const from = mock.records.length
    const r = await fenceRedfish('off', { username: 'viewer', password: 'view-only-1' })
    expect(resets(from)[0]).toBe('ForceOff 403')
    expect(r.stdout).not.toMatch(/Success/)
    expect(r.code).not.toBe(0)
    expect(await labState()).toBe('on')
  })
})

describe('redfishtool (DMTF) against the Redfish mock', () => {
  const rt = (auth: 'Basic' | 'Session', ...args: string[]) =>
    exec('redfishtool', [
      '-r',
      `127.0.0.1:${mock.address.port}`,
      '-u',
      'fence',
      '-p',
      PASSWORD,
      '-S',
      'Always',
      '-A',
      auth,
      ...args,
    ])

  for (const auth of ['Basic', 'Session'] as const) {
    it(`${auth}: Systems -I System.Embedded.1 reads the system and its PowerState`, async () => {
      await setLab('on')
      const r = await rt(auth, 'Systems', '-I', 'System.Embedded.1')
      expect(r.code).toBe(0)
      const sys = JSON.parse(r.stdout)
      expect(sys.Id).toBe('System.Embedded.1')
      expect(sys.PowerState).toBe('On')
      expect(sys.Actions['#ComputerSystem.Reset']['ResetType@Redfish.AllowableValues']).toContain('ForceOff')
    })

    it(`${auth}: Systems -I System.Embedded.1 reset ForceOff switches the machine off`, async () => {
      await setLab('on')
      const from = mock.records.length
      const r = await rt(auth, 'Systems', '-I', 'System.Embedded.1', 'reset', 'ForceOff')
      expect(r.code).toBe(0)
      expect(resets(from)).toEqual(['ForceOff 204'])
      await expect.poll(labState, { timeout: 10_000 }).toBe('off')
      const auths = new Set(
        mock.records
          .slice(from)
          .filter((x) => x.path !== '/redfish/v1' && !(x.method === 'POST' && x.path.endsWith('/Sessions')))
          .map((x) => x.auth),
      )
      expect([...auths]).toEqual([auth === 'Basic' ? 'basic' : 'token'])
    })
  }

  it('Session: the session redfishtool made is deleted when it logs out', async () => {
    const r = await rt('Session', 'Systems', '-I', 'System.Embedded.1')
    expect(r.code).toBe(0)
    expect(mock.sessions.size).toBe(0)
  })
})

describe('sushy (OpenStack) against the Redfish mock', () => {
  const script = `
import sys, json, warnings
warnings.simplefilter('ignore')
import sushy
from sushy import auth
port, user, pw, action, ca = sys.argv[1:6]
s = sushy.Sushy('https://127.0.0.1:%s/redfish/v1' % port, auth=auth.SessionAuth(user, pw), verify=ca)
system = s.get_system('/redfish/v1/Systems/System.Embedded.1')
if action == 'status':
    print(json.dumps({'power': system.power_state.value, 'resets': sorted(x.value for x in system.get_allowed_reset_system_values())}))
else:
    system.reset_system(sushy.ResetType(action))
    print(json.dumps({'done': action}))
`
  // sushy verifies the certificate: the mock's own self-signed certificate is its CA here
  let caFile = ''
  beforeAll(() => {
    caFile = path.join(mkdtempSync(path.join(tmpdir(), 'fencegate-rf-')), 'idrac.pem')
    writeFileSync(caFile, mock.certificate)
  })
  afterAll(() => rmSync(path.dirname(caFile), { recursive: true, force: true }))
  const sushy = (action: string) =>
    exec(
      '/usr/bin/python3',
      ['-c', script, String(mock.address.port), 'fence', PASSWORD, action, caFile],
      undefined,
      // requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's verify=PATH
      { ...process.env, REQUESTS_CA_BUNDLE: undefined, CURL_CA_BUNDLE: undefined },
    )

  it('reads the power state and the allowed reset types', async () => {
    await setLab('off')
    const r = await sushy('status')
    expect(r.stderr).toBe('')
    const out = JSON.parse(r.stdout)
    expect(out.power).toBe('Off')
    expect(out.resets).toContain('ForceOff')
  })

  it('reset_system(On) powers the machine on (confirmed on the control API)', async () => {
    await setLab('off')
    const from = mock.records.length
    const r = await sushy('On')
    expect(JSON.parse(r.stdout)).toEqual({ done: 'On' })
    expect(resets(from)).toEqual(['On 204'])
    await expect.poll(labState, { timeout: 10_000 }).toBe('on')
  })
})
