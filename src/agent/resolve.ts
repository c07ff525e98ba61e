import { ACTIONS, type AgentAction, OPTIONS } from './options.js'
import type { RawOptions } from './parse.js'

/** Validated options: every field typed, every default applied. */
export interface AgentOptions {
  action: AgentAction
  /** The gateway and its replicas, in the order given (at least one). */
  urls: URL[]
  tokenFile?: string
  passwordScript?: string
  plug?: string
  powerTimeoutMs: number
  connectTimeoutMs: number
  readTimeoutMs: number
  delayMs: number
  allowSimulated: boolean
  sslInsecure: boolean
  caFile?: string
  separator: string
  quiet: boolean
  verbose: boolean
  debugFile?: string
  help: boolean
  version: boolean
}

/** Actions that act on one node and need `plug`. */
export const NODE_ACTIONS: ReadonlySet<AgentAction> = new Set(['on', 'off', 'reboot', 'status'])

const TRUE = /^(1|yes|on|true)$/i
const FALSE = /^(0|no|off|false)$/i
/** Node names as the gateway's config allows them. */
const NODE_NAME = /^[A-Za-z][A-Za-z0-9_.-]*$/
/** `3`, `1,2`, `1:2`: what an outlet-number habit from other agents looks like. */
const OUTLETS = /^[\d\s,;:.-]*\d[\d\s,;:.-]*$/

export const OUTLET_MESSAGE =
  'plug is a node name known to the gateway (e.g. node1), not an outlet number: the gateway knows which outlets a node has'

const DEFAULTS = new Map(OPTIONS.filter((o) => o.default !== undefined).map((o) => [o.name, o.default!]))

/**
 * Check every value and collect every problem (a user fixes them all at once). Problems name
 * the option and what was expected; secrets are never quoted back.
 */
export function resolveOptions(
  raw: RawOptions,
  env: NodeJS.ProcessEnv = process.env,
): { options: AgentOptions; problems: string[] } {
  const problems = [...raw.problems]
  const get = (name: string): string | undefined => raw.values.get(name)
  const bool = (name: string): boolean => {
    const v = get(name)
    if (v === undefined) return DEFAULTS.get(name) === '1'
    if (TRUE.test(v.trim())) return true
    if (FALSE.test(v.trim())) return false
    problems.push(`${name}: expected a boolean (1/yes/on/true or 0/no/off/false), got '${v}'`)
    return false
  }
  const seconds = (name: string, min: number, max: number, minInclusive = true): number => {
    const v = get(name) ?? DEFAULTS.get(name)!
    const t = v.trim()
    const n = /^\d+(\.\d+)?$/.test(t) ? Number(t) : Number.NaN
    const low = minInclusive ? n >= min : n > min
    if (!Number.isFinite(n) || !low || n > max) {
      problems.push(
        `${name}: expected a number of seconds ${minInclusive ? 'from' : 'above'} ${min} to ${max}, got '${v}'`,
      )
      return Number(DEFAULTS.get(name)) * 1000
    }
    return Math.round(n * 1000)
  }
  const path = (name: string, what: string): string | undefined => {
    const v = get(name)
    if (v === undefined) return undefined
    if (!v.trim()) {
      problems.push(`${name}: expected ${what}, got an empty value`)
      return undefined
    }
    return v
  }

  // action
  let action: AgentAction = 'reboot'
  let actionKnown = true
  const rawAction = get('action')
  if (rawAction !== undefined) {
    const a = rawAction.trim().toLowerCase()
    const canonical = a === 'meta-data' ? 'metadata' : a
    if ((ACTIONS as readonly string[]).includes(canonical)) action = canonical as AgentAction
    else {
      actionKnown = false
      problems.push(`Unrecognised action '${rawAction}' (expected one of ${ACTIONS.join(', ')})`)
    }
  }

  // url: one, or a comma-separated list of replicas
  const rawUrl = get('url') ?? env.FENCEGATE_URL ?? DEFAULTS.get('url')!
  const urls: URL[] = []
  const seen = new Set<string>()
  for (const one of rawUrl.split(',').map((x) => x.trim())) {
    const u = parseUrl(one, rawUrl, problems)
    if (u && !seen.has(u.href)) {
      seen.add(u.href)
      urls.push(u)
    }
  }
  if (urls.length === 0) urls.push(new URL(DEFAULTS.get('url')!))

  // plug: one node name, never split
  let plug: string | undefined
  const rawPlug = get('plug')
  if (rawPlug !== undefined) {
    const p = rawPlug.trim()
    if (!p) problems.push('plug: expected a node name known to the gateway (e.g. node1), got an empty value')
    else if (OUTLETS.test(p)) problems.push(`${OUTLET_MESSAGE}; got '${rawPlug}'`)
    else if (/[,;\s]/.test(p))
      problems.push(
        `plug: expected one node name, got '${rawPlug}' (never a list: the gateway switches every plug of a node itself)`,
      )
    else if (!NODE_NAME.test(p))
      problems.push(
        `plug: expected a node name known to the gateway (a letter, then letters, digits, '.', '_', '-'), got '${rawPlug}'`,
      )
    else plug = p
  }

  const tokenFile = path('token_file', 'a file path')
  const passwordScript = path('password_script', 'a command')
  const caFile = path('ca_file', 'a file path')
  const debugFile = path('debug_file', 'a file path')
  const separator = get('separator') ?? DEFAULTS.get('separator')!
  if (!separator || /[\r\n]/.test(separator))
    problems.push(`separator: expected one or more characters on one line, got '${separator}'`)

  const options: AgentOptions = {
    action,
    urls,
    ...(tokenFile ? { tokenFile } : {}),
    ...(passwordScript ? { passwordScript } : {}),
    ...(plug ? { plug } : {}),
    powerTimeoutMs: seconds('power_timeout', 1, 3600),
    connectTimeoutMs: seconds('connect_timeout', 0, 60, false),
    readTimeoutMs: seconds('read_timeout', 0, 3600, false),
    delayMs: seconds('delay', 0, 3600),
    allowSimulated: bool('allow_simulated'),
    sslInsecure: bool('ssl_insecure'),
    ...(caFile ? { caFile } : {}),
    separator,
    quiet: bool('quiet'),
    verbose: bool('verbose'),
    ...(debugFile ? { debugFile } : {}),
    help: bool('help'),
    version: bool('version'),
  }

  const needsGateway = action !== 'metadata' && !options.help && !options.version
  if (needsGateway) {
    if (tokenFile && passwordScript) problems.push('token_file, password_script: give one of them, not both')
    else if (
      !tokenFile &&
      !passwordScript &&
      get('token_file') === undefined &&
      get('password_script') === undefined
    )
      problems.push(
        'token_file: required (or password_script): the API token of a fencer token of the gateway',
      )
    if (actionKnown && NODE_ACTIONS.has(action) && rawPlug === undefined)
      problems.push(
        `plug: required for action '${action}': the node name as the gateway knows it (e.g. node1)`,
      )
  }
  return { options, problems }
}

/** One gateway URL of the `url` list; a problem names the list as written. */
function parseUrl(one: string, list: string, problems: string[]): URL | undefined {
  const where = one === list.trim() ? `'${list}'` : `'${one}' (in '${list}')`
  if (!one) {
    problems.push(`url: expected gateway URLs separated by commas, got an empty entry in '${list}'`)
    return undefined
  }
  try {
    const u = new URL(one)
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      problems.push(`url: expected an http:// or https:// URL of the gateway, got ${where}`)
    else if (u.username || u.password)
      problems.push('url: credentials in the URL are not accepted: use token_file or password_script')
    else if (u.search || u.hash)
      problems.push(`url: expected the gateway's base URL without ?query or #fragment, got ${where}`)
    else return u
  } catch {
    problems.push(`url: expected the gateway's URL like http://127.0.0.1:8443, got ${where}`)
  }
  return undefined
}
