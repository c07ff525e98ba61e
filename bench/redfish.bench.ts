import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { redfishDriver } from '../drivers/redfish/index.js'
import { readLab } from '../firmware-mocks/lab-file.js'
import { Lab } from '../firmware-mocks/lab.js'
import type { RedfishMock } from '../firmware-mocks/redfish/mock.js'
import { startServer } from '../src/api/server.js'
import { hashToken } from '../src/api/auth.js'
import { readConfig } from '../src/config/config.js'
import { readSecret } from '../src/config/secrets.js'
import { Engine } from '../src/engine/engine.js'
import { median, printTable } from './lib.js'

/**
 * Redfish (docs/performance.md, "Redfish"), on the iDRAC-like mock, same mock, same run:
 *
 * 1. A verified off of one system: fencegate's engine (GET the system, POST ForceOff, GET it
 *    back off, journal on disk; the session and keep-alive connection kept between runs), the
 *    bare driver opened fresh each time (TLS handshake + session login + delete: a cold call),
 *    and fence_redfish -o off --ssl-insecure (a Python process: discovery, basic auth, its own
 *    status poll).
 * 2. Status of 100 Redfish systems in parallel through the REST bulk read
 *    (GET /v1/nodes?refresh=true): 100 devices, each its own session and connection, on one
 *    mock service with 100 ComputerSystems. The gateway and the mock share this process.
 *
 * The mock's transitions are instant here (transitionDelay 0): the figures are the protocol's.
 */

const USER = 'fence'
const PASSWORD = 'bench-Redfish-1'
const RUNS = { engine: 20, cold: 10, agent: 5, bulk: 10 }
const WARMUP = 3
const SYSTEMS = 100

function exec(file: string, input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, [], { timeout: 60_000 }, (e, stdout, stderr) =>
      e ? reject(new Error(`${file} failed: ${stderr || stdout || e.message}`)) : resolve(stdout),
    )
    child.stdin?.end(input)
  })
}

async function timed(n: number, before: () => void, once: () => Promise<void>): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < n; i++) {
    before()
    const t = performance.now()
    await once()
    out.push(performance.now() - t)
  }
  return out
}

async function verifiedOff(dir: string): Promise<void> {
  const { lab: spec, problems } = readLab({
    devices: {
      idrac: {
        kind: 'redfish',
        listen: '127.0.0.1:0',
        users: [{ name: USER, password: PASSWORD, role: 'Operator' }],
      },
    },
  })
  if (problems.length) throw new Error(JSON.stringify(problems))
  const lab = await Lab.start(spec)
  let engine: Engine | undefined
  try {
    const mock = lab.device('idrac') as RedfishMock
    const on = () => mock.sim.setPhysical('system', 'on')
    const assertOff = (who: string) => {
      if (mock.sim.state('system') !== 'off') throw new Error(`${who} did not switch the system off`)
    }
    const sections = lab.driverSections()
    const { config, problems: cp } = readConfig({
      journal: path.join(dir, 'journal.jsonl'),
      engine: { probeInterval: 0 },
      devices: sections,
      nodes: { n1: { plugs: ['idrac'] } },
    })
    if (cp.length) throw new Error(JSON.stringify(cp))
    engine = await Engine.create(config)
    const initiator = { name: 'bench', role: 'operator' as const, via: 'bench' }
    const engineOnce = async () => {
      const op = await engine!.power('n1', 'off', { initiator })
      const r = op.results[0]!
      if (op.status !== 'succeeded' || r.state !== 'off' || r.already)
        throw new Error(`engine off: ${JSON.stringify(r)}`)
      assertOff('fencegate')
    }
    await timed(WARMUP, on, engineOnce)
    const ours = await timed(RUNS.engine, on, engineOnce)

    const { driver: _kind, ...section } = sections.idrac!
    const { config: dc, problems: dp } = redfishDriver.validate(section)
    if (dp.length) throw new Error(JSON.stringify(dp))
    const cold = await timed(RUNS.cold, on, async () => {
      const d = redfishDriver.create(dc, { deviceId: 'bench', readSecret, log: () => {} })
      const call = { signal: AbortSignal.timeout(10_000) }
      await d.set('system', 'off', call)
      if ((await d.status(['system'], call)).get('system') !== 'off')
        throw new Error('driver: not read back off')
      await d.close()
      assertOff('driver')
    })

    const agentOnce = async () => {
      const opts = [
        'ip=127.0.0.1',
        `ipport=${mock.address.port}`,
        `username=${USER}`,
        `password=${PASSWORD}`,
        'ssl_insecure=1',
        'action=off',
      ]
      const out = await exec('fence_redfish', `${opts.join('\n')}\n`)
      if (!/Success: Powered OFF/.test(out)) throw new Error(`fence_redfish: ${out}`)
      assertOff('fence_redfish')
    }
    const agent = await timed(RUNS.agent, on, agentOnce)

    const base = median(ours)
    console.log(
      '\nredfish: a verified off of one system, same mock, same run (median ms; ratio to the first row)',
    )
    printTable(
      [66, 3, 9, 9],
      ['case', 'n', 'median', '× engine'],
      (
        [
          ['fencegate engine: verified off (session kept), journal on disk', RUNS.engine, base],
          ['fencegate driver, fresh: TLS + login + ForceOff + read + logout', RUNS.cold, median(cold)],
          ['fence_redfish -o off --ssl-insecure', RUNS.agent, median(agent)],
        ] as [string, number, number][]
      ).map(([name, n, ms]) => [name, String(n), ms.toFixed(1), (ms / base).toFixed(1)]),
    )
  } finally {
    await engine?.close()
    await lab.stop()
  }
}

async function bulkStatus(dir: string): Promise<void> {
  const { lab: spec, problems } = readLab({
    devices: {
      idrac: {
        kind: 'redfish',
        listen: '127.0.0.1:0',
        systems: SYSTEMS,
        users: [{ name: USER, password: PASSWORD, role: 'Operator' }],
      },
    },
  })
  if (problems.length) throw new Error(JSON.stringify(problems))
  const lab = await Lab.start(spec)
  const token = randomBytes(24).toString('hex')
  let server: Awaited<ReturnType<typeof startServer>> | undefined
  try {
    const mock = lab.device('idrac') as RedfishMock
    const section = lab.driverSections().idrac!
    const devices: Record<string, unknown> = {}
    const nodes: Record<string, unknown> = {}
    for (let i = 1; i <= SYSTEMS; i++) {
      devices[`rf${i}`] = { ...section, systemPath: mock.systemPath(i) }
      nodes[`n${i}`] = { plugs: [`rf${i}`] }
    }
    const { config, problems: cp } = readConfig({
      listen: '127.0.0.1:0',
      journal: path.join(dir, 'bulk-journal.jsonl'),
      engine: { probeInterval: 0 },
      auth: {
        tokens: [{ name: 'bench', role: 'viewer', hash: `sha256:${hashToken(token).toString('hex')}` }],
      },
      devices,
      nodes,
    })
    if (cp.length) throw new Error(JSON.stringify(cp.slice(0, 3)))
    server = await startServer({ config, listen: { port: 0 } })
    const headers = { authorization: `Bearer ${token}` }
    const times: number[] = []
    let first = 0
    for (let i = 0; i < RUNS.bulk + 1; i++) {
      const t = performance.now()
      const r = await fetch(`${server.url}/v1/nodes?refresh=true`, { headers })
      const body = (await r.json()) as { nodes: { state: string }[] }
      const d = performance.now() - t
      if (r.status !== 200 || body.nodes.length !== SYSTEMS || body.nodes.some((n) => n.state !== 'on'))
        throw new Error(`bulk status: HTTP ${r.status}, ${JSON.stringify(body).slice(0, 300)}`)
      if (i === 0) first = d
      else times.push(d)
    }
    console.log(
      `\nredfish: status of ${SYSTEMS} Redfish systems (100 devices, one mock) in parallel, GET /v1/nodes?refresh=true`,
    )
    printTable(
      [52, 3, 9],
      ['case', 'n', 'ms'],
      [
        ['first (100 TLS handshakes + 100 session logins)', '1', first.toFixed(1)],
        ['warm (sessions and connections kept), median', String(RUNS.bulk), median(times).toFixed(1)],
      ],
    )
    console.log(`sessions open on the mock: ${mock.sessions.size}`)
  } finally {
    await server?.close()
    await lab.stop()
  }
}

export default async function run(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'fencegate-bench-redfish-'))
  try {
    await verifiedOff(dir)
    await bulkStatus(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
