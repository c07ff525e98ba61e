import dgram from 'node:dgram'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import type { ApcSnmpDriver } from '../drivers/apc-snmp/driver.js'
import { apcSnmpDriver } from '../drivers/apc-snmp/index.js'
import type { ApcPduMock } from '../firmware-mocks/apc-pdu/mock.js'
import { readLab } from '../firmware-mocks/lab-file.js'
import { Lab } from '../firmware-mocks/lab.js'
import { readConfig } from '../src/config/config.js'
import { readSecret } from '../src/config/secrets.js'
import type { Initiator } from '../core/types.js'
import { Engine } from '../src/engine/engine.js'
import { median, timeProcess } from './lib.js'

/**
 * SNMP PDUs: the gateway against fence_apc_snmp on the same APC rPDU mock (SNMP v2c, 24
 * outlets), in the same run.
 * 1. A verified off: the engine's off (cancel pending, set off, read back until off) against
 *    `fence_apc_snmp -o off` (which also reads back). Goal: the gateway ≥ 20× faster.
 * 2. Status of 24 outlets: SNMP requests and time (driver), against fence_apc_snmp's status,
 *    one process per outlet.
 * 3. A PDU that does not answer: time to the error, default settings of each.
 */

const RUNS = 15
const FENCER: Initiator = { name: 'bench', role: 'fencer', via: 'bench' }

export default async function run(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'fg-bench-snmp-'))
  const { lab: spec, problems } = readLab({
    devices: { pdu: { kind: 'apc-pdu', model: 'rPDU', plugs: 24, listen: '127.0.0.1:0' } },
  })
  if (problems.length) throw new Error(JSON.stringify(problems))
  const lab = await Lab.start(spec)
  const silent = dgram.createSocket('udp4')
  let engine: Engine | undefined
  let driver: ApcSnmpDriver | undefined
  try {
    const mock = lab.device('pdu') as ApcPduMock
    const sim = mock.sim
    const { port } = mock.address
    const sections = lab.driverSections()
    const { config, problems: cp } = readConfig({
      journal: path.join(dir, 'journal.jsonl'),
      engine: { probeInterval: 0, powerWait: '0ms' },
      devices: sections,
      nodes: { n1: { plugs: ['pdu:1'] } },
    })
    if (cp.length) throw new Error(JSON.stringify(cp))
    engine = await Engine.create(config)
    const agent = [
      '--ip',
      '127.0.0.1',
      '--ipport',
      String(port),
      '--snmp-version',
      '2c',
      '--community',
      'private',
    ]

    // 1. verified off, alternating so both see the same machine load
    const ours: number[] = []
    const theirs: number[] = []
    for (let i = 0; i < RUNS; i++) {
      sim.setPhysical('1', 'on')
      const t0 = performance.now()
      const op = await engine.power('n1', 'off', { initiator: FENCER, timeoutMs: 10_000 })
      ours.push(performance.now() - t0)
      if (op.status !== 'succeeded' || sim.state('1') !== 'off')
        throw new Error(`engine off failed: ${JSON.stringify(op)}`)
      sim.setPhysical('1', 'on')
      const r = await timeProcess('fence_apc_snmp', [...agent, '--plug', '1', '--action', 'off'])
      if (r.code !== 0 || sim.state('1') !== 'off') throw new Error(`fence_apc_snmp off failed: ${r.out}`)
      theirs.push(r.ms)
    }

    // 2. status of 24 outlets through the driver: requests counted at both ends
    const section = { ...sections.pdu! }
    delete section.driver
    const v = apcSnmpDriver.validate(section)
    driver = apcSnmpDriver.create(v.config, { deviceId: 'pdu', readSecret, log: () => {} }) as ApcSnmpDriver
    const plugs = Array.from({ length: 24 }, (_, i) => String(i + 1))
    await driver.status(plugs, { signal: AbortSignal.timeout(5000) }) // identifies the family
    const req0 = driver.client.requests
    const rx0 = mock.received
    const statusMs: number[] = []
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now()
      await driver.status(plugs, { signal: AbortSignal.timeout(5000) })
      statusMs.push(performance.now() - t0)
    }
    const perStatus = (driver.client.requests - req0) / RUNS
    const datagrams = (mock.received - rx0) / RUNS
    // the same verified off on the bare driver: what the engine (journal fsyncs, queue) adds on top
    const bare: number[] = []
    for (let i = 0; i < RUNS; i++) {
      sim.setPhysical('1', 'on')
      const c = { signal: AbortSignal.timeout(5000) }
      const b0 = performance.now()
      await driver.cancelPending(['1'], c)
      await driver.set('1', 'off', c)
      if ((await driver.status(['1'], c)).get('1') !== 'off') throw new Error('driver off not read back')
      bare.push(performance.now() - b0)
    }
    const rxA = mock.received
    const t0 = performance.now()
    for (const p of plugs) await timeProcess('fence_apc_snmp', [...agent, '--plug', p, '--action', 'status'])
    const theirStatusMs = performance.now() - t0
    const theirDatagrams = mock.received - rxA

    // 3. a PDU that does not answer
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()))
    const dead = apcSnmpDriver.create(
      apcSnmpDriver.validate({ ...section, port: silent.address().port }).config,
      {
        deviceId: 'dead',
        readSecret,
        log: () => {},
      },
    )
    const u0 = performance.now()
    const err = await dead.status(['1'], { signal: AbortSignal.timeout(20_000) }).catch((e: Error) => e)
    const oursDead = performance.now() - u0
    await dead.close()
    const theirDead = await timeProcess('fence_apc_snmp', [
      '--ip',
      '127.0.0.1',
      '--ipport',
      String(silent.address().port),
      '--community',
      'private',
      '--plug',
      '1',
      '--action',
      'status',
    ])

    const mo = median(ours)
    const mt = median(theirs)
    const rows: [string, string, string][] = [
      ['verified off: gateway engine (cancel, set, read back)', `${mo.toFixed(1)} ms`, `n=${RUNS}`],
      ['verified off: fence_apc_snmp -o off (v2c)', `${mt.toFixed(1)} ms`, `n=${RUNS}`],
      ['  ratio fence_apc_snmp / gateway', `${(mt / mo).toFixed(1)}x`, 'goal >= 20x'],
      [
        'verified off: bare driver (same 4 requests, no engine)',
        `${median(bare).toFixed(2)} ms`,
        `n=${RUNS}`,
      ],
      [
        'status of 24 outlets: driver',
        `${median(statusMs).toFixed(2)} ms`,
        `${perStatus} request(s), ${datagrams} datagram(s)`,
      ],
      [
        'status of 24 outlets: fence_apc_snmp x 24',
        `${theirStatusMs.toFixed(0)} ms`,
        `${theirDatagrams} datagrams`,
      ],
      [
        'silent PDU: driver defaults (600 ms x 3)',
        `${oursDead.toFixed(0)} ms`,
        (err as { code?: string }).code ?? 'ok?',
      ],
      ['silent PDU: fence_apc_snmp defaults', `${theirDead.ms.toFixed(0)} ms`, `exit ${theirDead.code}`],
    ]
    console.log('\nsnmp: APC rPDU mock, 24 outlets, SNMP v2c, loopback')
    for (const [a, b, c] of rows) console.log(a.padEnd(56), b.padStart(11), ' ', c)
  } finally {
    await driver?.close()
    await engine?.close()
    await lab.stop()
    silent.close()
    rmSync(dir, { recursive: true, force: true })
  }
}
