import { readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { readSecret } from '../config/secrets.js'
import { CliError, type CliIo, UsageError } from './io.js'

export const DEFAULT_URL = 'http://127.0.0.1:8443'

/** ~/.config/fencegate: where `serve --demo` leaves the URL and token for the other commands. */
export function configDir(io: CliIo): string {
  return path.join(io.home, '.config', 'fencegate')
}

export function stateDir(io: CliIo): string {
  return path.join(io.home, '.local', 'state', 'fencegate')
}

/** `--url`, else FENCEGATE_URL, else ~/.config/fencegate/url, else the default. */
export function resolveUrl(io: CliIo, flag: string | undefined): string {
  const fromFile = () => {
    try {
      return readFileSync(path.join(configDir(io), 'url'), 'utf8').trim() || undefined
    } catch {
      return undefined
    }
  }
  const url = flag ?? (io.env.FENCEGATE_URL || undefined) ?? fromFile() ?? DEFAULT_URL
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new UsageError(`--url: expected http://HOST:PORT or https://HOST:PORT, got '${url}'`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new UsageError(`--url: expected an http:// or https:// URL, got '${url}'`)
  return url.replace(/\/+$/, '')
}

/**
 * FENCEGATE_TOKEN, else `--token-file`, else ~/.config/fencegate/token. A token file that its
 * group or others can read is refused, as ssh refuses a key: the token can fence machines.
 */
export function resolveToken(io: CliIo, tokenFile: string | undefined): string | undefined {
  const env = io.env.FENCEGATE_TOKEN?.trim()
  if (env) return env
  if (tokenFile !== undefined) return readTokenFile(tokenFile, '--token-file')
  const dflt = path.join(configDir(io), 'token')
  try {
    statSync(dflt)
  } catch {
    return undefined
  }
  return readTokenFile(dflt, 'token file')
}

/** Where resolveToken takes the token from, in words (for a refused token's message). */
export function tokenSource(io: CliIo, tokenFile: string | undefined): string {
  if (io.env.FENCEGATE_TOKEN?.trim()) return 'FENCEGATE_TOKEN'
  if (tokenFile !== undefined) return `--token-file ${tokenFile}`
  return path.join(configDir(io), 'token')
}

/** The same rules as every secret of the config (readSecret): a regular 0600 file, not empty. */
function readTokenFile(file: string, what: string): string {
  let token: string
  try {
    token = readSecret({ file }, what).trim()
  } catch (e) {
    throw new CliError((e as Error).message)
  }
  if (!token) throw new CliError(`${what}: ${file} is empty`)
  return token
}
