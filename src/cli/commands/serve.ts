import { chmodSync, mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { RunningServer } from '../../api/server.js'
import type { GatewayConfig } from '../../config/config.js'
import { compressHostlist } from '../../../core/hostlist.js'
import { asCliError } from '../common.js'
import { CliError, type CliIo, EXIT, UsageError } from '../io.js'
import { configDir, stateDir } from '../settings.js'
import { generateToken, tokenHash } from './token.js'

export interface ServeOptions {
  config?: string
  demo?: boolean
  listen?: { host: string; port: number }
  logLevel?: string
}

/** Past the operations' own deadline, how long a stopping gateway waits for in-flight work. */
const DRAIN_GRACE_MS = 5_000

/**
 * `serve --config FILE | --demo`: the daemon. Stops on SIGTERM/SIGINT: no new requests, in-flight
 * operations finish (bounded by their deadline), the engine closes (journal lock released),
 * the demo lab stops.
 */
export async function serveCommand(io: CliIo, o: ServeOptions): Promise<number> {
  if (o.config === undefined && !o.demo)
    throw new UsageError('serve: give --config FILE (your devices) or --demo (simulated devices)')
  if (o.config !== undefined && o.demo) throw new UsageError('serve: give --config FILE or --demo, not both')

  const [{ default: pino }, { startServer }] = await Promise.all([
    import('pino'),
    import('../../api/server.js'),
  ])
  const log = pino(
    { level: o.logLevel ?? 'info', base: { name: 'fencegate' } },
    { write: (s: string) => io.stderr.write(s) },
  )

  let config: GatewayConfig
  let demo: Awaited<ReturnType<typeof import('../../demo/start.js').startDemo>> | undefined
  let demoToken: string | undefined
  if (o.demo) {
    const { isLoopback } = await import('../../config/config.js')
    if (o.listen && !isLoopback(o.listen.host))
      throw new UsageError(
        `serve --demo --listen ${o.listen.host}: the demo serves plain HTTP, and on an address other than loopback its token would cross the network in clear; listen on 127.0.0.1 (or use --config with tls)`,
      )
    const { startDemo } = await import('../../demo/start.js')
    demoToken = io.env.FENCEGATE_TOKEN?.trim() || undefined
    const generated = demoToken === undefined
    const token = demoToken ?? generateToken()
    demo = await startDemo({
      stateDir: stateDir(io),
      listen: o.listen ?? { host: '127.0.0.1', port: 8443 },
      tokenHash: tokenHash(token),
    }).catch((e) => {
      throw asCliError(e)
    })
    config = demo.config
    demoToken = generated ? token : undefined
  } else {
    const { loadConfig } = await import('../../config/config.js')
    try {
      config = loadConfig(o.config!)
    } catch (e) {
      throw asCliError(e)
    }
    if (o.listen) config.listen = o.listen
  }

  let running: RunningServer
  try {
    running = await startServer({ config, log })
  } catch (e) {
    await demo?.stop()
    const err = e as NodeJS.ErrnoException
    if (err.code === 'EADDRINUSE')
      throw new CliError(
        `cannot listen on ${config.listen.host}:${config.listen.port}: address in use (another gateway? use --listen HOST:PORT)`,
      )
    throw asCliError(e)
  }

  if (demo) {
    announceDemo(io, running.url, demo, demoToken)
  } else {
    io.stdout.write(
      `fencegate: listening on ${running.url} (${config.devices.size} devices, ${config.nodes.size} nodes)\n`,
    )
  }

  await new Promise<void>((resolve) => {
    if (io.stop.aborted) resolve()
    else io.stop.addEventListener('abort', () => resolve(), { once: true })
  })

  log.info({}, 'stopping: finishing in-flight operations')
  const bound = config.engine.defaultTimeoutMs + DRAIN_GRACE_MS
  let timer: NodeJS.Timeout | undefined
  // closing the server closes the connections idle at that moment; a keep-alive connection whose
  // request finishes later would hold the close until the client lets go: sweep those too
  const sweep = setInterval(() => running.app.server.closeIdleConnections(), 100)
  const drained = await Promise.race([
    running.close().then(() => true),
    new Promise<boolean>((r) => {
      timer = setTimeout(() => r(false), bound)
    }),
  ])
  clearTimeout(timer)
  clearInterval(sweep)
  if (!drained) log.warn({ waitedMs: bound }, 'in-flight operations did not finish in time; closing anyway')
  // idempotent: releases the journal lock even when the server's close did not get that far
  await running.engine.close()
  await demo?.stop()
  log.info({}, 'stopped')
  return EXIT.ok
}

/** Leave URL (and a generated token) where the other commands look, and say how to start. */
function announceDemo(
  io: CliIo,
  url: string,
  demo: { nodes: string[]; controlUrl: string },
  generatedToken: string | undefined,
): void {
  const dir = configDir(io)
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  writeFileSync(path.join(dir, 'url'), `${url}\n`, { mode: 0o600 })
  const tokenFile = path.join(dir, 'token')
  if (generatedToken !== undefined) {
    writeFileSync(tokenFile, `${generatedToken}\n`, { mode: 0o600 })
    chmodSync(tokenFile, 0o600) // mode applies only to a new file
  }
  const lines = [
    `fencegate demo: ${url}  (simulated devices; every answer says "simulated": true)`,
    generatedToken !== undefined
      ? `  token: ${generatedToken}  (saved to ${tokenFile}; the CLI finds it there)`
      : '  token: from FENCEGATE_TOKEN',
    `  dashboard: ${url}/  (open it in a browser and paste the token; see docs/dashboard.md)`,
    `  nodes: ${demo.nodes.join(' ')}`,
    `  lab control API: ${demo.controlUrl}  (inject faults: see docs/lab.md)`,
    `  try:   npx fencegate status '${compressHostlist(demo.nodes)}'    npx fencegate fence ${demo.nodes[2] ?? demo.nodes[0]}    npx fencegate history`,
  ]
  io.stdout.write(`${lines.join('\n')}\n`)
}
