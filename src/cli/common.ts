import { type Command, InvalidArgumentError } from 'commander'
import { parseDuration } from '../../core/duration.js'
import { HostlistError, expandHostlist } from '../../core/hostlist.js'
import type { Backend } from './backend.js'
import { CliError, type CliIo, FileProblems, UsageError } from './io.js'
import { resolveToken, resolveUrl, tokenSource } from './settings.js'

/** The options every command that talks to a gateway (or runs the engine) takes. */
export interface ClientOptions {
  url?: string
  tokenFile?: string
  config?: string
  json?: boolean
  timeout?: number
}

/**
 * The options of a command that talks to the gateway. `gatewayOnly`: no `--config` (what it
 * shows exists only in a running gateway, e.g. the cluster membership).
 */
export function clientOptions(
  cmd: Command,
  opts: { timeout?: boolean; gatewayOnly?: boolean } = {},
): Command {
  cmd
    .option(
      '--url <url>',
      'the gateway (default: FENCEGATE_URL, ~/.config/fencegate/url, http://127.0.0.1:8443)',
    )
    .option(
      '--token-file <file>',
      'file holding the API token, mode 0600 (default: FENCEGATE_TOKEN, ~/.config/fencegate/token)',
    )
  if (!opts.gatewayOnly)
    cmd.option('--config <file>', 'no gateway: run the engine in this process from this config file')
  cmd.option('--json', 'print JSON (for scripts) instead of a table')
  if (opts.timeout)
    cmd.option('--timeout <duration>', 'deadline of the operation: 30, 30s, 2m (1s to 1h)', parseTimeout)
  return cmd
}

/** Seconds, from `30`, `30s`, `1500ms`, `2m`: the API takes 1 to 3600. */
export function parseTimeout(v: string): number {
  let ms: number
  try {
    ms = parseDuration(v)
  } catch {
    throw new InvalidArgumentError('expected a duration like 30s or 2m')
  }
  if (ms < 1000 || ms > 3_600_000) throw new InvalidArgumentError('expected 1s to 1h')
  return ms / 1000
}

/** A REST client, or (with --config) an engine in this process. */
export async function openBackend(io: CliIo, o: ClientOptions): Promise<Backend> {
  if (o.config !== undefined) {
    if (o.url !== undefined)
      throw new UsageError('give --url (a running gateway) or --config (in-process), not both')
    const { LocalBackend } = await import('./local-backend.js')
    try {
      return await LocalBackend.open(o.config)
    } catch (e) {
      throw asCliError(e)
    }
  }
  const { HttpBackend } = await import('./http-backend.js')
  return new HttpBackend(resolveUrl(io, o.url), resolveToken(io, o.tokenFile), tokenSource(io, o.tokenFile))
}

/** Expand a hostlist; a mistake is a usage error pointing at the character (caret on a terminal). */
export function expandTargets(io: CliIo, targets: string): string[] {
  try {
    return expandHostlist(targets)
  } catch (e) {
    if (e instanceof HostlistError) throw new UsageError(io.stderr.isTTY ? e.message : e.line)
    throw e
  }
}

/** FenceErrors (config, journal lock…) as one message per line, exit 1. */
export function asCliError(e: unknown): CliError {
  if (e instanceof CliError) return e
  const err = e as { code?: string; message?: string }
  if (err && typeof err.code === 'string' && err.code === 'CONFIG_INVALID')
    return new FileProblems(err.message ?? '')
  if (err && typeof err.code === 'string' && /^[A-Z_]+$/.test(err.code))
    return new CliError(`${err.code}: ${err.message}`)
  return new CliError(e instanceof Error ? e.message : String(e))
}

/** Run `fn` on a backend and close it, whatever happens. */
export async function withBackend<T>(
  io: CliIo,
  o: ClientOptions,
  fn: (b: Backend) => Promise<T>,
): Promise<T> {
  const backend = await openBackend(io, o)
  try {
    return await fn(backend)
  } catch (e) {
    throw asCliError(e)
  } finally {
    await backend.close()
  }
}
