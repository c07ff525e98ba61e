import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { rps10Driver } from '../drivers/rps10/index.js'
import type { PowerDriver } from '../drivers/driver.js'
import { Rps10Mock } from '../firmware-mocks/rps10/mock.js'
import { FRAME_LENGTH, byteTimeMs } from '../protocols/rps10.js'
import { median, printTable } from './lib.js'

/**
 * A verified off of one RPS-10 plug at 9600 baud (off, then a status read that must say Off),
 * against the floor the wire allows: bytes on the wire × 10 / baud, plus the unit's relay time.
 * The mock paces its output at the line speed and takes the frame's wire time to "receive" it,
 * so the floor is what a perfect client could reach. Side by side: cluster-glue's
 * `stonith -t rps10 -T off` on the same mock (a fresh DTR reset each call, no read-back).
 */
const BAUD = 9600
const RELAY_MS = 10
const REPLY_OFF = 'Plug 0 Off\r\nComplete\r\n'.length
const FLOOR_MS = (2 * FRAME_LENGTH + 2 * REPLY_OFF) * byteTimeMs(BAUD) + RELAY_MS

async function startMock(where: 'pty' | 'tcp', dir: string): Promise<Rps10Mock> {
  const mock = new Rps10Mock(
    'bench',
    {
      kind: 'rps10',
      plugs: 2,
      transitionDelayMs: RELAY_MS,
      initial: 'on',
      ...(where === 'pty' ? { pty: path.join(dir, 'rps10') } : { listen: { host: '127.0.0.1', port: 0 } }),
    },
    {
      baud: BAUD,
      toggleDelayMs: 5000,
      readyDelayMs: 200,
      commandGapMs: 0,
      eol: '\r\n',
      paced: true,
      powerUpState: 'off',
      explicitInitial: true,
    },
  )
  await mock.start()
  return mock
}

function driverFor(mock: Rps10Mock, commandGap: string): PowerDriver {
  const where = mock.ptyPath
    ? { port: mock.ptyPath, dtrLow: '300ms', readyTimeout: '3s' }
    : { server: `${mock.address.host}:${mock.address.port}`, handshake: 'none', settle: '300ms' }
  const { config, problems } = rps10Driver.validate({ ...where, baud: BAUD, commandGap })
  if (problems.length) throw new Error(JSON.stringify(problems))
  return rps10Driver.create(config, { deviceId: 'bench', readSecret: () => '', log: () => {} })
}

async function verifiedOff(mock: Rps10Mock, commandGap: string, gapMs: number, n: number): Promise<number[]> {
  const driver = driverFor(mock, commandGap)
  const times: number[] = []
  try {
    await driver.status(['0'], { signal: AbortSignal.timeout(10_000) }) // open + handshake, not timed
    for (let i = 0; i < n; i++) {
      mock.sim.setPhysical('0', 'on')
      await new Promise((r) => setTimeout(r, gapMs + 20)) // the unit's pause, outside the timing
      const signal = AbortSignal.timeout(10_000)
      const t0 = performance.now()
      await driver.set('0', 'off', { signal })
      const state = (await driver.status(['0'], { signal })).get('0')
      times.push(performance.now() - t0)
      if (state !== 'off' || mock.sim.state('0') !== 'off') throw new Error(`plug read back ${state}`)
    }
  } finally {
    await driver.close()
  }
  return times
}

function stonithOff(ptyPath: string): Promise<number> {
  const t0 = performance.now()
  return new Promise((resolve, reject) =>
    execFile(
      'stonith',
      ['-t', 'rps10', '-p', `${ptyPath} node0 0`, '-T', 'off', 'node0'],
      { timeout: 30_000 },
      (e) => (e ? reject(e) : resolve(performance.now() - t0)),
    ),
  )
}

export default async function run(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'fg-bench-rps10-'))
  const rows: [string, number, number][] = []
  try {
    for (const where of ['tcp', 'pty'] as const) {
      const mock = await startMock(where, dir)
      try {
        rows.push([
          `fencegate verified off, ${where}, commandGap 0`,
          median(await verifiedOff(mock, '0ms', 0, 20)),
          20,
        ])
        rows.push([
          `fencegate verified off, ${where}, commandGap 500ms (default)`,
          median(await verifiedOff(mock, '500ms', 500, 5)),
          5,
        ])
        if (where === 'pty') {
          const t: number[] = []
          for (let i = 0; i < 3; i++) {
            mock.sim.setPhysical('0', 'on')
            t.push(await stonithOff(mock.ptyPath!))
            if (mock.sim.state('0') !== 'off') throw new Error('stonith did not switch the plug off')
          }
          rows.push(['cluster-glue stonith -T off (no read-back), pty', median(t), 3])
        }
      } finally {
        await mock.stop()
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  console.log(`\nrps10: verified off of one plug at ${BAUD} baud (median ms)`)
  console.log(
    `wire-time floor: ${FLOOR_MS.toFixed(1)} ms = (2 × ${FRAME_LENGTH} + 2 × ${REPLY_OFF} bytes) × 10 / ${BAUD} + ${RELAY_MS} ms relay`,
  )
  printTable(
    [62, 3, 9, 8],
    ['case', 'n', 'median', 'x floor'],
    rows.map(([name, ms, n]) => [name, String(n), ms.toFixed(1), (ms / FLOOR_MS).toFixed(2)]),
  )
}
