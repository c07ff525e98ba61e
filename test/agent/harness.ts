import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { chmodSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { type RunningServer, startServer } from '../../src/api/server.js'
import { type TestGateway, startTestGateway } from '../helpers/gateway.js'
import { type ProcessRun, runProcess } from '../helpers/process.js'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
/** The agent as it ships: the bundle `npm run build` (and install-agent.sh) makes, the bin's target. */
export const AGENT = path.join(ROOT, 'dist/fence_fencegate.cjs')

/**
 * Build the agent as it ships (the bundle dist/fence_fencegate.cjs, the bin Pacemaker runs),
 * once per test file. install-agent.sh --build-only bundles only src/agent and takes a lock, so
 * parallel test files do not write dist/ at the same time.
 */
export function buildAgent(): void {
  execFileSync('sh', [path.join(ROOT, 'scripts/install-agent.sh'), '--build-only'], { stdio: 'pipe' })
}

export type AgentRun = ProcessRun

/** Run the built agent: `stdin` lines (Pacemaker's form) or argv (getopt form). */
export function runAgent(
  input: { stdin?: Record<string, string | number> | string; argv?: string[] },
  opts: { env?: NodeJS.ProcessEnv; prefix?: string[]; timeoutMs?: number } = {},
): Promise<AgentRun> {
  const cmd = [...(opts.prefix ?? []), process.execPath, AGENT, ...(input.argv ?? [])]
  const text =
    typeof input.stdin === 'string'
      ? input.stdin
      : Object.entries(input.stdin ?? {})
          .map(([k, v]) => `${k}=${v}\n`)
          .join('')
  return runProcess(cmd[0]!, cmd.slice(1), {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...opts.env },
    stdin: input.argv?.length ? '' : text,
    timeoutMs: opts.timeoutMs ?? 60_000,
  })
}

export interface TokenSpec {
  name: string
  role: 'viewer' | 'operator' | 'fencer'
  nodes?: string[]
}

export interface AgentGateway {
  gw: TestGateway
  server: RunningServer
  url: string
  /** token name → a 0600 file holding it */
  tokenFile: Record<string, string>
  stop(): Promise<void>
}

/**
 * A real gateway (startServer over an engine over a lab of mock devices) with tokens whose
 * files the agent reads. `listen` defaults to an ephemeral loopback port.
 */
export async function startAgentGateway(opts: {
  devices: Record<string, Record<string, unknown>>
  nodes: Record<string, unknown>
  tokens: TokenSpec[]
  engine?: Record<string, unknown>
  simulated?: boolean
  listen?: { host: string; port: number }
  /** PEM files: the gateway serves HTTPS. */
  tls?: { cert: string; key: string }
  /** Plain HTTP on a `listen` other than loopback (refused unless written out). */
  allowPlainHttp?: boolean
}): Promise<AgentGateway> {
  const secrets = opts.tokens.map((t) => ({ ...t, value: randomBytes(24).toString('base64url') }))
  const gw = await startTestGateway({
    devices: opts.devices,
    nodes: opts.nodes,
    ...(opts.engine ? { engine: opts.engine } : {}),
    extra: {
      ...(opts.simulated ? { simulated: true } : {}),
      ...(opts.tls ? { tls: opts.tls } : {}),
      ...(opts.allowPlainHttp ? { allowPlainHttp: true } : {}),
      auth: {
        tokens: secrets.map((t) => ({
          name: t.name,
          role: t.role,
          hash: `sha256:${createHash('sha256').update(t.value).digest('hex')}`,
          ...(t.nodes ? { nodes: t.nodes } : {}),
        })),
      },
    },
  })
  let server: RunningServer
  try {
    server = await startServer({
      config: gw.config,
      engine: gw.engine,
      listen: opts.listen ?? { host: '127.0.0.1', port: 0 },
    })
  } catch (e) {
    await gw.stop()
    throw e
  }
  const tokenFile: Record<string, string> = {}
  for (const t of secrets) {
    const file = path.join(gw.dir, `${t.name}.token`)
    writeFileSync(file, `${t.value}\n`, { mode: 0o600 })
    chmodSync(file, 0o600)
    tokenFile[t.name] = file
  }
  let stopped = false
  return {
    gw,
    server,
    url: server.url,
    tokenFile,
    async stop() {
      if (stopped) return
      stopped = true
      // the server closes the engine (closing it again is a no-op); gw.stop() ends the lab
      await server.close().catch(() => {})
      await gw.stop()
    },
  }
}
