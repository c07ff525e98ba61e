import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { stringify } from 'yaml'
import { readLab } from '../../firmware-mocks/lab-file.js'
import { Lab } from '../../firmware-mocks/lab.js'
import type { CliIo } from '../../src/cli/io.js'
import { main } from '../../src/cli/run.js'

export interface Captured {
  io: CliIo
  out(): string
  err(): string
  /** What SIGTERM does to the real bin. */
  stop(): void
}

export function capture(opts: { env?: Record<string, string>; home?: string; tty?: boolean } = {}): Captured {
  const out: string[] = []
  const err: string[] = []
  const ctl = new AbortController()
  return {
    io: {
      stdout: { write: (s: string) => out.push(s) },
      stderr: { write: (s: string) => err.push(s), isTTY: opts.tty ?? false },
      env: opts.env ?? {},
      home: opts.home ?? '/nonexistent-home',
      stop: ctl.signal,
    },
    out: () => out.join(''),
    err: () => err.join(''),
    stop: () => ctl.abort(),
  }
}

/** Run `fencegate ARGS` in-process. */
export async function run(
  args: string[],
  opts: Parameters<typeof capture>[0] = {},
): Promise<{ code: number; out: string; err: string }> {
  const c = capture(opts)
  const code = await main(args, c.io)
  return { code, out: c.out(), err: c.err() }
}

export function tempDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'fencegate-cli-test-'))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

export interface LabGateway {
  lab: Lab
  dir: string
  configFile: string
  stop(): Promise<void>
}

/**
 * Mock devices and a config file reaching them (journal in a temp dir), for `--config` runs:
 * `devices` are lab sections, `nodes` config node sections, `extra` more config fields.
 */
export async function labWithConfig(opts: {
  devices: Record<string, Record<string, unknown>>
  nodes: Record<string, unknown>
  extra?: Record<string, unknown>
  driverOverrides?: Record<string, Record<string, unknown>>
}): Promise<LabGateway> {
  const { dir, remove } = tempDir()
  const { lab: spec, problems } = readLab({ devices: opts.devices })
  if (problems.length) throw new Error(JSON.stringify(problems))
  const lab = await Lab.start(spec)
  const devices = lab.driverSections()
  for (const [id, o] of Object.entries(opts.driverOverrides ?? {})) Object.assign(devices[id]!, o)
  const configFile = path.join(dir, 'fencegate.yaml')
  writeFileSync(
    configFile,
    stringify({
      journal: path.join(dir, 'journal.jsonl'),
      engine: { powerWait: '10ms', fenceHold: '1s', defaultTimeout: '5s', retries: 0 },
      devices,
      nodes: opts.nodes,
      ...opts.extra,
    }),
  )
  return {
    lab,
    dir,
    configFile,
    async stop() {
      await lab.stop()
      remove()
    },
  }
}
