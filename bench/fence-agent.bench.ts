import { execFile } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ApcPduMock } from '../firmware-mocks/apc-pdu/mock.js'
import { readLab } from '../firmware-mocks/lab-file.js'
import { Lab } from '../firmware-mocks/lab.js'
import { type CpuTimedRun, median, printTable, timeProcess, timeProcessCpu } from './lib.js'
import { startServer } from '../src/api/server.js'
import { readConfig } from '../src/config/config.js'

/**
 * fence_fencegate as Pacemaker runs it (a fresh process per action, options on stdin), side by
 * side with fence_apc_snmp, the agent a user would otherwise point at the same PDU: both drive
 * one APC rPDU mock (SNMP v2c) in the same run. fence_fencegate goes through the gateway
 * (HTTP on loopback → engine → apc-snmp driver → mock); fence_apc_snmp shells out to net-snmp.
 * The gateway's powerWait is 0, as fence_apc_snmp's power_wait default.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
/** The agent as it ships (the bin): one bundled file (scripts/build-agent.mjs). */
const AGENT = path.join(ROOT, 'dist/fence_fencegate.cjs')
/** The same agent as tsc compiles it, unbundled ES modules: the start-up it had before the bundle. */
const UNBUNDLED = path.join(ROOT, 'dist/src/agent/main.js')
const RUNS = 11
/** Start-up runs: many, interleaved, because a shared machine's noise is larger than the effect. */
const START_RUNS = 31

/**
 * A gateway that answers the agent's requests at once from canned bodies: what is left of an
 * agent run is its own start-up and two loopback HTTP round trips.
 */
async function instantGateway(): Promise<{ url: string; close(): Promise<void> }> {
  const node = { name: 'node1', state: 'on', plugs: [], levels: [] }
  const operation = {
    id: 'op-1',
    status: 'succeeded',
    results: [{ node: 'node1', outcome: 'success', state: 'off', attempts: [] }],
  }
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      const url = req.url ?? ''
      const body = url.startsWith('/v1/nodes?')
        ? { simulated: false, nodes: [node] }
        : url === '/v1/nodes/node1'
          ? { simulated: false, node }
          : url === '/v1/nodes/node1/fence'
            ? { simulated: false, operation }
            : undefined
      res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' })
      res.end(
        JSON.stringify(body ?? { statusCode: 404, error: 'Not Found', code: 'NOT_FOUND', message: url }),
      )
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}

/**
 * Median start-up of the agent: `-o status` and `-o off` against the instant gateway, beside a
 * bare `node -e 0`, the unbundled build, and fence_apc_snmp `-o status` / `-o off` on the mock
 * (its own start-up is most of what it costs). Every command once per round, rounds interleaved.
 */
async function startup(tokenFile: string, apc: ((action: string) => Promise<CpuTimedRun>) | undefined) {
  const gw = await instantGateway()
  const agent = (file: string, action: string) => () =>
    timeProcessCpu(
      process.execPath,
      [file],
      `action=${action}\nplug=node1\nurl=${gw.url}\ntoken_file=${tokenFile}\n`,
    )
  const cases: [string, () => Promise<CpuTimedRun>][] = [
    ['node -e 0 (bare Node)', () => timeProcessCpu(process.execPath, ['-e', '0'])],
    ['fence_fencegate -o status (bundle, the bin)', agent(AGENT, 'status')],
    ['fence_fencegate -o off (bundle, the bin)', agent(AGENT, 'off')],
    ['fence_fencegate -o status (unbundled tsc output)', agent(UNBUNDLED, 'status')],
    ['fence_fencegate -o off (unbundled tsc output)', agent(UNBUNDLED, 'off')],
    ...(apc
      ? ([
          ['fence_apc_snmp -o status', () => apc('status')],
          ['fence_apc_snmp -o off', () => apc('off')],
        ] as [string, () => Promise<CpuTimedRun>][])
      : []),
  ]
  const ms = cases.map(() => [] as number[])
  const cpu = cases.map(() => [] as number[])
  try {
    for (let i = 0; i < START_RUNS; i++)
      for (const [j, [name, run]] of cases.entries()) {
        const r = await run()
        if (r.code !== 0 && !(name.includes('status') && r.code === 2))
          throw new Error(`${name}: exit ${r.code}: ${r.out}`)
        ms[j]!.push(r.ms)
        if (r.cpuMs !== undefined) cpu[j]!.push(r.cpuMs)
      }
  } finally {
    await gw.close()
  }
  const bare = median(ms[0]!)
  const hasCpu = cpu[0]!.length > 0
  const bareCpu = hasCpu ? median(cpu[0]!) : 0
  const over = (x: number, base: number) => `${x - base >= 0 ? '+' : ''}${(x - base).toFixed(1)}`
  console.log(
    `\nfence agent start-up: one process per action, instant stub gateway (median ms of ${START_RUNS}, interleaved)`,
  )
  printTable(
    [48, 9, 10, 9, 10],
    ['case', 'wall', 'over bare', 'cpu', 'over bare'],
    cases.map(([name], j) => {
      const m = median(ms[j]!)
      const c = hasCpu ? median(cpu[j]!) : undefined
      return [
        name,
        m.toFixed(1),
        j === 0 ? '' : over(m, bare),
        c === undefined ? '-' : c.toFixed(0),
        c === undefined || j === 0 ? '' : over(c, bareCpu),
      ]
    }),
  )
  if (!hasCpu) console.log('(cpu: install the Debian package `time` for /usr/bin/time)')
}

const hasApcAgent = () =>
  new Promise<boolean>((resolve) => execFile('fence_apc_snmp', ['-o', 'metadata'], (e) => resolve(!e)))

export default async function run(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'fg-bench-agent-'))
  const token = randomBytes(24).toString('base64url')
  const tokenFile = path.join(dir, 'token')
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 })
  const { lab: spec, problems } = readLab({
    devices: { pdu: { kind: 'apc-pdu', model: 'rPDU', plugs: 8, listen: '127.0.0.1:0' } },
  })
  if (problems.length) throw new Error(JSON.stringify(problems))
  const lab = await Lab.start(spec)
  const mock = lab.device('pdu')!
  const { config, problems: cp } = readConfig({
    journal: path.join(dir, 'journal.jsonl'),
    engine: { probeInterval: 0, powerWait: '0ms' },
    auth: {
      tokens: [
        {
          name: 'pacemaker',
          role: 'fencer',
          hash: `sha256:${createHash('sha256').update(token).digest('hex')}`,
        },
      ],
    },
    devices: lab.driverSections(),
    nodes: { node1: { plugs: ['pdu:1'] } },
  })
  if (cp.length) throw new Error(JSON.stringify(cp))
  const server = await startServer({ config, listen: { host: '127.0.0.1', port: 0 } })
  const { port } = (mock as ApcPduMock).address
  const ours = (action: string) =>
    timeProcess(
      process.execPath,
      [AGENT],
      `action=${action}\nplug=node1\nurl=${server.url}\ntoken_file=${tokenFile}\n`,
    )
  const apc = (action: string) =>
    timeProcessCpu('fence_apc_snmp', [
      '-a',
      '127.0.0.1',
      '-u',
      String(port),
      '-d',
      '2c',
      '-c',
      'private',
      '-n',
      '1',
      '-o',
      action,
    ])
  const rows: [string, number, number | undefined][] = []
  try {
    const peer = await hasApcAgent()
    await startup(
      tokenFile,
      peer
        ? (action) => {
            mock.sim.setPhysical('1', 'on')
            return apc(action)
          }
        : undefined,
    )
    const start: number[] = []
    const bare: number[] = []
    const apcStart: number[] = []
    for (let i = 0; i < RUNS; i++) {
      bare.push((await timeProcess(process.execPath, ['-e', '0'])).ms)
      start.push((await timeProcess(process.execPath, [AGENT, '-o', 'metadata'])).ms)
      if (peer) apcStart.push((await timeProcess('fence_apc_snmp', ['-o', 'metadata'])).ms)
    }
    rows.push(['start-up: -o metadata', median(start), peer ? median(apcStart) : undefined])
    rows.push(['  (bare node -e 0)', median(bare), undefined])
    for (const action of ['status', 'off', 'reboot']) {
      const a: number[] = []
      const b: number[] = []
      for (let i = 0; i < RUNS; i++) {
        mock.sim.setPhysical('1', 'on')
        const r = await ours(action)
        if (r.code !== 0) throw new Error(`fence_fencegate ${action}: ${r.out}`)
        if (action === 'off' && mock.sim.state('1') !== 'off')
          throw new Error('fence_fencegate off left the outlet on')
        a.push(r.ms)
        if (!peer) continue
        mock.sim.setPhysical('1', 'on')
        const p = await apc(action)
        if (p.code !== 0) throw new Error(`fence_apc_snmp ${action}: ${p.out}`)
        b.push(p.ms)
      }
      const label = { status: 'status', off: 'off (read back off)', reboot: 'reboot (off read back, on)' }[
        action
      ]!
      rows.push([label, median(a), peer ? median(b) : undefined])
    }
  } finally {
    await server.close()
    await lab.stop()
    rmSync(dir, { recursive: true, force: true })
  }
  console.log(`\nfence agent: one process per action, APC rPDU mock over SNMP v2c (median ms, n=${RUNS})`)
  printTable(
    [40, 16, 15, 7],
    ['case', 'fence_fencegate', 'fence_apc_snmp', 'ratio'],
    rows.map(([name, a, b]) => [
      name,
      a.toFixed(1),
      b === undefined ? '-' : b.toFixed(1),
      b === undefined ? '' : (a / b).toFixed(2),
    ]),
  )
}
