import { execFile } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ApcPduMock } from '../firmware-mocks/apc-pdu/mock.js'
import { readLab } from '../firmware-mocks/lab-file.js'
import { Lab } from '../firmware-mocks/lab.js'
import { median, printTable, timeProcess } from './lib.js'
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
const AGENT = path.join(ROOT, 'dist/src/agent/main.js')
const RUNS = 11

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
    timeProcess('fence_apc_snmp', [
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
