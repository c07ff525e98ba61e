import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { readLab } from '../../firmware-mocks/lab-file.js'
import { Lab } from '../../firmware-mocks/lab.js'
import { type GatewayConfig, readConfig } from '../../src/config/config.js'
import type { Initiator } from '../../core/types.js'
import { Engine, type EngineOptions } from '../../src/engine/engine.js'

export const OPERATOR: Initiator = { name: 'test', role: 'operator', via: 'test' }
export const FENCER: Initiator = { name: 'test-fencer', role: 'fencer', via: 'test' }

export interface TestGateway {
  lab: Lab
  engine: Engine
  config: GatewayConfig
  dir: string
  stop(): Promise<void>
}

/**
 * A lab of mock devices and an engine configured to reach them, with its journal in a
 * fresh temp directory. `devices` are lab sections; `nodes` and `engine` are config sections.
 */
export async function startTestGateway(opts: {
  devices: Record<string, Record<string, unknown>>
  nodes: Record<string, unknown>
  engine?: Record<string, unknown>
  driverOverrides?: Record<string, Record<string, unknown>>
  engineOptions?: EngineOptions
  extra?: Record<string, unknown>
}): Promise<TestGateway> {
  const dir = mkdtempSync(path.join(tmpdir(), 'fencegate-test-'))
  const { lab: spec, problems } = readLab({ devices: opts.devices })
  if (problems.length) throw new Error(`lab: ${JSON.stringify(problems)}`)
  for (const d of spec.devices) if (d.common.pty) d.common.pty = d.common.pty.replace('{tmp}', dir)
  const lab = await Lab.start(spec)
  try {
    const sections = lab.driverSections()
    for (const [id, o] of Object.entries(opts.driverOverrides ?? {})) Object.assign(sections[id]!, o)
    const { config, problems: cp } = readConfig({
      journal: path.join(dir, 'journal.jsonl'),
      engine: { probeInterval: 0, powerWait: '10ms', fenceHold: '1s', ...opts.engine },
      devices: sections,
      nodes: opts.nodes,
      ...opts.extra,
    })
    if (cp.length) throw new Error(`config: ${JSON.stringify(cp)}`)
    const engine = await Engine.create(config, opts.engineOptions)
    return {
      lab,
      engine,
      config,
      dir,
      async stop() {
        await engine.close()
        await lab.stop()
        rmSync(dir, { recursive: true, force: true })
      },
    }
  } catch (e) {
    await lab.stop()
    rmSync(dir, { recursive: true, force: true })
    throw e
  }
}
