import { hashToken } from '../../src/api/auth.js'
import { type App, buildApp } from '../../src/api/app.js'
import type { EngineOptions } from '../../src/engine/engine.js'
import { type TestGateway, startTestGateway } from '../helpers/gateway.js'

/** One token per role, plus `lab`: an operator allowed only n1 and dual. */
export const TOKENS = {
  viewer: 'viewer-0123456789abcdef',
  operator: 'operator-0123456789abcdef',
  fencer: 'fencer-0123456789abcdef',
  lab: 'lab-0123456789abcdef',
} as const

const tokenSection = [
  { name: 'viewer', role: 'viewer', hash: hash(TOKENS.viewer) },
  { name: 'operator', role: 'operator', hash: hash(TOKENS.operator) },
  { name: 'fencer', role: 'fencer', hash: hash(TOKENS.fencer) },
  { name: 'lab', role: 'operator', hash: hash(TOKENS.lab), nodes: 'n1,dual' },
]

function hash(t: string): string {
  return `sha256:${hashToken(t).toString('hex')}`
}

export function bearer(who: keyof typeof TOKENS): { authorization: string } {
  return { authorization: `Bearer ${TOKENS[who]}` }
}

export const DEVICES = {
  pdu: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 4 },
  bmc: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 1 },
}
export const NODES = {
  n1: { plugs: ['pdu:1'] },
  dual: { plugs: ['pdu:2', 'pdu:3'] },
  lv: { levels: [['bmc:1'], ['pdu:4']], fenceAction: 'reboot' },
}

export interface ApiGateway {
  gw: TestGateway
  app: App
  stop(): Promise<void>
}

/** Mock devices, a real Engine, and the app around it (inject only, no socket). */
export async function startApi(
  opts: {
    devices?: Record<string, Record<string, unknown>>
    nodes?: Record<string, unknown>
    engine?: Record<string, unknown>
    extra?: Record<string, unknown>
    engineOptions?: EngineOptions
  } = {},
): Promise<ApiGateway> {
  const gw = await startTestGateway({
    ...(opts.engineOptions ? { engineOptions: opts.engineOptions } : {}),
    devices: opts.devices ?? DEVICES,
    nodes: opts.nodes ?? NODES,
    ...(opts.engine ? { engine: opts.engine } : {}),
    extra: { auth: { tokens: tokenSection }, ...opts.extra },
    ...(opts.engineOptions ? { engineOptions: opts.engineOptions } : {}),
  })
  const app = await buildApp({ engine: gw.engine, config: gw.config, processMetrics: false })
  return {
    gw,
    app,
    async stop() {
      await app.close()
      await gw.stop()
    },
  }
}

/** The journal's records (JSON lines). */
export async function journal(gw: TestGateway): Promise<Record<string, unknown>[]> {
  const { readFile } = await import('node:fs/promises')
  const text = await readFile(gw.config.journal.path, 'utf8').catch(() => '')
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
}
