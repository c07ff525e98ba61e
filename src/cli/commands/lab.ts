import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Lab } from '../../../firmware-mocks/lab.js'
import type { LabSpec } from '../../../firmware-mocks/lab-file.js'
import { DRIVERS } from '../../../drivers/registry.js'
import { asCliError } from '../common.js'
import { CliError, type CliIo, EXIT } from '../io.js'
import { generateToken, tokenHash } from './token.js'

/** Facts of a device's info() printed in its lab line. */
const PINS = ['fingerprint', 'hostKeyFingerprint'] as const
export interface LabOptions {
  lab?: string
  control?: { host: string; port: number }
  printConfig?: boolean
  writeConfig?: string
}

/**
 * `lab [--lab FILE]`: start the mock devices of a lab file (without one: the demo's devices),
 * print one JSON line per device and one with the control API's URL, run until SIGTERM.
 */
export async function labCommand(io: CliIo, o: LabOptions): Promise<number> {
  const [{ loadLabFile }, { Lab }, { buildControlApi }] = await Promise.all([
    import('../../../firmware-mocks/lab-file.js'),
    import('../../../firmware-mocks/lab.js'),
    import('../../../firmware-mocks/control-api.js'),
  ])
  let spec: LabSpec
  let scratch: string | undefined
  try {
    if (o.lab !== undefined) spec = loadLabFile(o.lab)
    else {
      const [{ DEMO_DEVICES }, { demoLabSpec }] = await Promise.all([
        import('../../demo/demo.js'),
        import('../../demo/start.js'),
      ])
      scratch = mkdtempSync(path.join(tmpdir(), 'fencegate-lab-'))
      spec = demoLabSpec(DEMO_DEVICES, scratch)
    }
  } catch (e) {
    if (scratch) rmSync(scratch, { recursive: true, force: true })
    throw asCliError(e)
  }
  const control = o.control ?? spec.control

  let lab: Lab
  try {
    lab = await Lab.start(spec)
  } catch (e) {
    if (scratch) rmSync(scratch, { recursive: true, force: true })
    throw new CliError(`lab: a device did not start: ${(e as Error).message}`)
  }
  const app = buildControlApi(lab)
  let url: string
  try {
    url = await app.listen({ host: control.host, port: control.port })
  } catch (e) {
    await lab.stop()
    if (scratch) rmSync(scratch, { recursive: true, force: true })
    throw new CliError(
      `lab: control API cannot listen on ${control.host}:${control.port}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    )
  }

  try {
    const config = o.printConfig || o.writeConfig !== undefined ? await gatewayConfig(lab, url) : undefined
    if (o.writeConfig !== undefined) writeFileSync(o.writeConfig, config!, { mode: 0o600 })
    if (o.printConfig) io.stdout.write(config!)
    else {
      for (const [id, m] of lab.devices) {
        // what a client must pin to trust the device: a certificate or host key fingerprint
        const info = m.info?.() ?? {}
        const pins = Object.fromEntries(
          PINS.filter((k) => typeof info[k] === 'string').map((k) => [k, info[k]]),
        )
        io.stdout.write(`${JSON.stringify({ device: id, kind: m.kind, endpoint: m.endpoint, ...pins })}\n`)
      }
      io.stdout.write(`${JSON.stringify({ control: url })}\n`)
    }
    await new Promise<void>((resolve) => {
      if (io.stop.aborted) resolve()
      else io.stop.addEventListener('abort', () => resolve(), { once: true })
    })
  } finally {
    await app.close()
    await lab.stop()
    if (scratch) rmSync(scratch, { recursive: true, force: true })
  }
  return EXIT.ok
}

/** A node name from a device id and a plug id (node names: letters, digits, . _ -). */
function nodeName(device: string, plug: string, single: boolean): string {
  return single ? device : `${device}-${plug.replace(/[^A-Za-z0-9_.-]/g, '_')}`
}

/** Can the device of this driver section read its outlets back (its factory's `verifies`)? */
function verifies(section: Record<string, unknown>): boolean {
  const { driver, ...rest } = section
  const factory = DRIVERS.get(String(driver))
  if (typeof factory?.verifies !== 'function') return factory?.verifies !== false
  return factory.verifies(factory.validate(rest).config)
}

/**
 * A gateway config that reaches the started lab: the devices (each mock's driver section, secrets
 * in 0600 files of the lab's secrets dir), one node per plug, and a fresh API token whose file
 * the header names. Valid while the lab runs.
 */
async function gatewayConfig(lab: Lab, controlUrl: string): Promise<string> {
  const { stringify } = await import('yaml')
  const token = generateToken()
  const tokenFile = path.join(lab.secretsDir, 'api-token')
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 })
  const devices = lab.driverSections()
  const nodes: Record<string, { plugs: string[]; fence?: false }> = {}
  for (const [id, m] of lab.devices) {
    const plugs = m.sim.describe()
    // a device that cannot read back can never fence: its nodes are operator-only (fence: false)
    const operatorOnly = verifies(devices[id]!) ? {} : { fence: false as const }
    for (const p of plugs)
      nodes[nodeName(id, p.id, plugs.length === 1)] = { plugs: [`${id}:${p.id}`], ...operatorOnly }
  }
  const doc = {
    listen: '127.0.0.1:8443',
    simulated: true,
    journal: path.join(lab.secretsDir, 'journal.jsonl'),
    auth: { tokens: [{ name: 'lab', role: 'fencer', hash: tokenHash(token) }] },
    devices,
    nodes,
  }
  return [
    '# fencegate gateway config reaching the mock devices of `fencegate lab` (valid while it runs)',
    `# lab control API: ${controlUrl}`,
    `# API token (role fencer): export FENCEGATE_TOKEN=$(cat ${tokenFile})`,
    stringify(doc),
  ].join('\n')
}
