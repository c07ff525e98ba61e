import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import type { BmcMock } from '../firmware-mocks/bmc/mock.js'
import { readLab } from '../firmware-mocks/lab-file.js'
import { Lab } from '../firmware-mocks/lab.js'
import { ipmiDriver } from '../drivers/ipmi/index.js'
import { readConfig } from '../src/config/config.js'
import { readSecret } from '../src/config/secrets.js'
import { Engine } from '../src/engine/engine.js'
import { median, printTable } from './lib.js'

/**
 * A verified off of one BMC, on the same mock BMC in the same run (docs/performance.md, "IPMI"):
 *
 * - fencegate: engine.power(node, off) — read, Chassis Control power down, read back off;
 *   every read and the command each a full RMCP+ session (suite 17), closed after use; the
 *   journal (intent and result records, each fsynced) on disk, and on tmpfs to show the
 *   protocol's share. Beside it the bare driver: set off, then status (two sessions).
 * - ipmitool -I lanplus: `chassis power off` then `chassis power status` (two processes, the
 *   least a script needs to know the node is off).
 * - fence_ipmilan --lanplus -o off: with its default power_wait (2 s sleep after the command)
 *   and with --power-wait=0, the like-for-like figure.
 *
 * Goal: fencegate at least 5× faster than the ipmitool pair and than fence_ipmilan at power_wait 0.
 */

const USER = 'admin'
const PASSWORD = 'bench-Pass-1'
const RUNS = { fencegate: 30, ipmitool: 10, fencePw0: 6, fenceDefault: 3 }
const WARMUP = 5
const SHM = '/dev/shm'

function exec(
  file: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { timeout: 60_000, env: { ...process.env, ...opts.env } },
      (e, stdout, stderr) =>
        e ? reject(new Error(`${file} failed: ${stderr || e.message}`)) : resolve(stdout),
    )
    if (opts.input !== undefined) child.stdin?.end(opts.input)
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

export default async function run(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'fencegate-bench-ipmi-'))
  const shmDir = existsSync(SHM) ? mkdtempSync(path.join(SHM, 'fencegate-bench-ipmi-')) : undefined
  const { lab: spec, problems } = readLab({
    devices: {
      bmc: {
        kind: 'bmc',
        listen: '127.0.0.1:0',
        users: [{ name: USER, password: PASSWORD, privilege: 'administrator' }],
      },
    },
  })
  if (problems.length) throw new Error(JSON.stringify(problems))
  const lab = await Lab.start(spec)
  const engines: Engine[] = []
  try {
    const bmc = lab.device('bmc') as BmcMock
    const port = String(bmc.address.port)
    const sections = lab.driverSections()
    const on = () => bmc.sim.setPhysical('chassis', 'on')
    const assertOff = (who: string) => {
      if (bmc.sim.state('chassis') !== 'off') throw new Error(`${who} did not switch the chassis off`)
    }

    // fencegate through the engine, the journal on disk and on tmpfs
    const initiator = { name: 'bench', role: 'operator' as const, via: 'bench' }
    const engineOff = async (journalDir: string): Promise<number[]> => {
      const { config, problems: cp } = readConfig({
        journal: path.join(journalDir, 'journal.jsonl'),
        engine: { probeInterval: 0 },
        devices: sections,
        nodes: { n1: { plugs: ['bmc'] } },
      })
      if (cp.length) throw new Error(JSON.stringify(cp))
      const engine = await Engine.create(config)
      engines.push(engine)
      const once = async () => {
        const op = await engine.power('n1', 'off', { initiator })
        const r = op.results[0]!
        if (op.status !== 'succeeded' || r.state !== 'off' || r.already)
          throw new Error(`engine off: ${JSON.stringify(r)}`)
        assertOff('fencegate')
      }
      await timed(WARMUP, on, once)
      return timed(RUNS.fencegate, on, once)
    }
    const ours = await engineOff(dir)
    const ourTmpfs = shmDir ? await engineOff(shmDir) : undefined

    // the bare driver: two sessions, no engine, no journal
    const { driver: _kind, ...section } = sections.bmc!
    const { config: dc, problems: dp } = ipmiDriver.validate(section)
    if (dp.length) throw new Error(JSON.stringify(dp))
    const driver = ipmiDriver.create(dc, { deviceId: 'bench', readSecret, log: () => {} })
    const bare = await timed(RUNS.fencegate, on, async () => {
      const call = { signal: AbortSignal.timeout(10_000) }
      await driver.set('chassis', 'off', call)
      if ((await driver.status(['chassis'], call)).get('chassis') !== 'off')
        throw new Error('driver: not read back off')
      assertOff('driver')
    })
    await driver.close()

    const ipmitool = (...cmd: string[]) =>
      exec('ipmitool', ['-I', 'lanplus', '-H', '127.0.0.1', '-p', port, '-U', USER, '-E', ...cmd], {
        env: { IPMI_PASSWORD: PASSWORD },
      })
    const pair = await timed(RUNS.ipmitool, on, async () => {
      await ipmitool('chassis', 'power', 'off')
      const out = await ipmitool('chassis', 'power', 'status')
      if (!out.includes('Chassis Power is off')) throw new Error(`ipmitool status: ${out}`)
      assertOff('ipmitool')
    })

    const fence = (powerWait?: string) => async () => {
      const opts = [
        `ip=127.0.0.1`,
        `ipport=${port}`,
        `username=${USER}`,
        `password=${PASSWORD}`,
        'lanplus=1',
        'action=off',
      ]
      if (powerWait !== undefined) opts.push(`power_wait=${powerWait}`)
      const out = await exec('fence_ipmilan', [], { input: `${opts.join('\n')}\n` })
      if (!/Success: Powered OFF/.test(out)) throw new Error(`fence_ipmilan: ${out}`)
      assertOff('fence_ipmilan')
    }
    const pw0 = await timed(RUNS.fencePw0, on, fence('0'))
    const pwDefault = await timed(RUNS.fenceDefault, on, fence())

    const base = median(ours)
    const rows: [string, number, number][] = [
      ['fencegate engine: verified off, journal on disk', RUNS.fencegate, base],
      ...(ourTmpfs
        ? [
            ['fencegate engine: verified off, journal on tmpfs', RUNS.fencegate, median(ourTmpfs)] as [
              string,
              number,
              number,
            ],
          ]
        : []),
      ['fencegate driver: set off + status (2 sessions)', RUNS.fencegate, median(bare)],
      ['ipmitool lanplus: power off + power status', RUNS.ipmitool, median(pair)],
      ['fence_ipmilan --lanplus -o off, --power-wait=0', RUNS.fencePw0, median(pw0)],
      ['fence_ipmilan --lanplus -o off, default power_wait', RUNS.fenceDefault, median(pwDefault)],
    ]
    console.log(
      '\nipmi: a verified off of one BMC, same mock BMC, same run (median ms; ratio to the first row)',
    )
    printTable(
      [52, 3, 9, 9],
      ['case', 'n', 'median', '× engine'],
      rows.map(([name, n, ms]) => [name, String(n), ms.toFixed(1), (ms / base).toFixed(1)]),
    )
  } finally {
    for (const e of engines) await e.close()
    await lab.stop()
    rmSync(dir, { recursive: true, force: true })
    if (shmDir) rmSync(shmDir, { recursive: true, force: true })
  }
}
