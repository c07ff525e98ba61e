import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { FastifyInstance } from 'fastify'
import { buildControlApi } from '../../firmware-mocks/control-api.js'
import { type LabSpec, readLab } from '../../firmware-mocks/lab-file.js'
import { Lab } from '../../firmware-mocks/lab.js'
import { type GatewayConfig, readConfig } from '../config/config.js'
import { DEMO_DEVICES, DEMO_ENGINE, type DemoDevice } from './demo.js'

export interface DemoOptions {
  /** Where the demo's journal lives (kept between runs, so history shows earlier sessions). */
  stateDir: string
  listen: { host: string; port: number }
  /** `sha256:…` of the demo's API token (role fencer: the demo lets you do everything). */
  tokenHash: string
  /** Defaults to DEMO_DEVICES (tests pass fewer). */
  devices?: readonly DemoDevice[]
}

export interface RunningDemo {
  config: GatewayConfig
  lab: Lab
  /** The lab's control API (inject faults, pull cables): http://127.0.0.1:PORT. */
  controlUrl: string
  nodes: string[]
  stop(): Promise<void>
}

/** `{dir}` in a lab section's strings: the demo's scratch directory (pseudo-terminal links). */
function substitute(section: Record<string, unknown>, dir: string): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(section).map(([k, v]) => [k, typeof v === 'string' ? v.replaceAll('{dir}', dir) : v]),
  )
}

function problemsText(what: string, problems: { path: (string | number)[]; message: string }[]): string {
  return `${what}: ${problems.map((p) => `${p.path.join('.')}: ${p.message}`).join('; ')}`
}

/** The lab of the demo's devices, `{dir}` made `dir` (`serve --demo`, and `lab` without --lab). */
export function demoLabSpec(devices: readonly DemoDevice[], dir: string): LabSpec {
  const { lab, problems } = readLab({
    devices: Object.fromEntries(devices.map((d) => [d.id, substitute(d.lab, dir)])),
  })
  if (problems.length) throw new Error(problemsText('demo lab (src/demo/demo.ts)', problems))
  return lab
}

/** Start the demo's mock devices and build the config that reaches them (`simulated: true`). */
export async function startDemo(opts: DemoOptions): Promise<RunningDemo> {
  const devices = opts.devices ?? DEMO_DEVICES
  const scratch = mkdtempSync(path.join(tmpdir(), 'fencegate-demo-'))
  mkdirSync(opts.stateDir, { recursive: true, mode: 0o700 })
  let spec: LabSpec
  try {
    spec = demoLabSpec(devices, scratch)
  } catch (e) {
    rmSync(scratch, { recursive: true, force: true })
    throw e
  }
  let lab: Lab | undefined
  let control: FastifyInstance | undefined
  try {
    lab = await Lab.start(spec)
    const { config, problems: cp } = readConfig(
      {
        listen: `${opts.listen.host.includes(':') ? `[${opts.listen.host}]` : opts.listen.host}:${opts.listen.port}`,
        simulated: true,
        journal: path.join(opts.stateDir, 'demo-journal.jsonl'),
        auth: { tokens: [{ name: 'demo', role: 'fencer', hash: opts.tokenHash }] },
        engine: DEMO_ENGINE,
        devices: lab.driverSections(),
        nodes: Object.assign({}, ...devices.map((d) => d.nodes)),
      },
      '(demo)',
    )
    if (cp.length) throw new Error(problemsText('demo config (src/demo/demo.ts)', cp))
    control = buildControlApi(lab)
    const controlUrl = await control.listen({ host: '127.0.0.1', port: 0 })
    const running = lab
    const app = control
    return {
      config,
      lab,
      controlUrl,
      nodes: [...config.nodes.keys()],
      async stop() {
        await app.close()
        await running.stop()
        rmSync(scratch, { recursive: true, force: true })
      },
    }
  } catch (e) {
    await control?.close()
    await lab?.stop()
    rmSync(scratch, { recursive: true, force: true })
    throw e
  }
}
