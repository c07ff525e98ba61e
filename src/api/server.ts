/**
 * startServer: the daemon's HTTP side. Builds the engine (unless given), the app, and listens
 * on config.listen (127.0.0.1:8443 by default), over TLS when the config has tls: {cert, key}.
 */
import { readFile } from 'node:fs/promises'
import type { FastifyBaseLogger } from 'fastify'
import { type GatewayConfig, isLoopback, plainHttpProblem } from '../config/config.js'
import { checkSecretFile } from '../config/secrets.js'
import { FenceError } from '../../core/errors.js'
import { Engine } from '../engine/engine.js'
import type { HeartbeatService } from '../heartbeat/service.js'
import { type App, buildApp } from './app.js'

export interface ServerOptions {
  config: GatewayConfig
  /** An engine already built (tests, the demo); otherwise Engine.create(config). */
  engine?: Engine
  log?: FastifyBaseLogger
  /** Override parts of config.listen (tests: `{ port: 0 }`, any free port). */
  listen?: { host?: string; port?: number }
}

export interface RunningServer {
  app: App
  engine: Engine
  /** The cluster heartbeat, when the config has a heartbeat section. */
  heartbeat?: HeartbeatService
  /** http(s)://HOST:PORT as a client reaches it. */
  url: string
  close(): Promise<void>
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const { config } = opts
  // where it really listens (serve --listen overrides the config), checked before anything starts
  const listen = { ...config.listen, ...opts.listen }
  const plain = plainHttpProblem(listen.host, !!config.tls, config.allowPlainHttp === true)
  if (plain) throw new FenceError('CONFIG_INVALID', `listen: ${plain}`)
  const https = config.tls ? await readTls(config.tls) : undefined
  const engine =
    opts.engine ??
    (await Engine.create(config, opts.log ? { log: opts.log.child({ component: 'engine' }) } : {}))
  let app: App | undefined
  let heartbeat: HeartbeatService | undefined
  try {
    if (config.heartbeat) {
      const { startHeartbeat } = await import('../heartbeat/index.js')
      const hbLog = opts.log?.child({ component: 'heartbeat' })
      heartbeat = await startHeartbeat(config, engine, engine.journal, {
        ...(hbLog ? { log: (level, msg, fields) => hbLog[level](fields ?? {}, msg) } : {}),
      })
    }
    app = await buildApp({
      engine,
      config,
      ...(heartbeat ? { heartbeat } : {}),
      ...(opts.log ? { log: opts.log } : {}),
      ...(https ? { https } : {}),
    })
    if (!config.tokens.length)
      app.log.warn('no tokens in the config (auth.tokens): every /v1 request will be refused with 401')
    if (!https && !isLoopback(listen.host))
      app.log.warn(
        `plain HTTP on ${listen.host || '0.0.0.0'} (allowPlainHttp: true): tokens cross the network in clear; use tls`,
      )
    await app.listen({ host: listen.host, port: listen.port })
    const addr = app.server.address()
    const port = typeof addr === 'object' && addr ? addr.port : listen.port
    const url = `${https ? 'https' : 'http'}://${hostForUrl(listen.host)}:${port}`
    const running = app
    let closing: Promise<void> | undefined
    return {
      app,
      engine,
      ...(heartbeat ? { heartbeat } : {}),
      url,
      close() {
        closing ??= (async () => {
          // first: peers get our shutdown notice and must not fence us for going quiet
          await heartbeat?.stop()
          await running.close()
          await engine.close()
        })()
        return closing
      },
    }
  } catch (e) {
    await heartbeat?.stop().catch(() => {})
    await app?.close().catch(() => {})
    if (!opts.engine) await engine.close().catch(() => {})
    throw e
  }
}

async function readTls(tls: NonNullable<GatewayConfig['tls']>): Promise<{ cert: Buffer; key: Buffer }> {
  const read = async (file: string, what: string) => {
    try {
      return await readFile(file)
    } catch (e) {
      throw new FenceError('CONFIG_INVALID', `tls.${what}: cannot read ${file}: ${(e as Error).message}`)
    }
  }
  // the private key is a secret like any other: owner-only, owned by us or root
  checkSecretFile(tls.keyFile, 'tls.key')
  return { cert: await read(tls.certFile, 'cert'), key: await read(tls.keyFile, 'key') }
}

function hostForUrl(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1'
  if (host === '::') return '[::1]'
  return host.includes(':') ? `[${host}]` : host
}
