import type { FieldProblem } from '../../core/problems.js'
import { DRIVERS, readDeviceSection } from '../../drivers/registry.js'
import { HostlistError, expandHostlist } from '../../core/hostlist.js'
import type { FenceAction, PlugRef, Role } from '../../core/types.js'
import { readHeartbeatConfig } from '../heartbeat/config.js'
import { type CoordinationConfig, readCoordination } from './coordination.js'
import { Fields, describe } from '../../core/fields.js'
import { YamlSource, asMapping } from '../../core/yaml.js'

export interface TokenConfig {
  name: string
  /** SHA-256 of the token. Tokens are long random strings, so a fast hash is enough. */
  hash: Buffer
  role: Role
  /** Hostlists of the nodes this token may act on; absent = all. */
  nodes?: string[]
}

export interface EngineSettings {
  /** Deadline of an operation whose caller gives none (fence-agents' power_timeout is 20 s; we take 40 s). */
  defaultTimeoutMs: number
  /** After a fence, `on` is refused to all but the fencer role for this long. */
  fenceHoldMs: number
  /** Default wait between off and on (reboot, cycle). */
  powerWaitMs: number
  /** How often every device is probed (a status read). 0 disables probing. */
  probeIntervalMs: number
  probeTimeoutMs: number
  /** Tries of a driver call after a transient error. */
  retries: number
  /** Least spacing between two `on` commands on one device (inrush current). */
  onStaggerMs: number
  /** First interval between read-backs after a set; doubles up to 1 s. */
  verifyPollMs: number
}

export interface DeviceConfig {
  id: string
  driver: string
  /** The driver's own validated config. */
  config: unknown
  /**
   * May an operator's cycle use the device's own cycle command (never a fence)? A field of
   * every device section, read once by drivers/registry.ts readDeviceSection.
   */
  deviceCycle: boolean
  /** The device reads its outlets back (false: an unverified device, never a fencing level). Absent = true. */
  verifies?: boolean
}

export interface NodeConfig {
  name: string
  /** The plug levels, in order (for a node with `fence: false`, its plugs as one level). */
  levels: PlugRef[][]
  /**
   * After the plug levels, a last level `manual`: a fence then waits (within its deadline) for an
   * operator to confirm the node is off (`fencegate confirm`). Never a device read-back. Absent = false.
   */
  manual?: boolean
  /** false: operator power only (its devices cannot read back, or the user says so); fence refused. Absent = true. */
  fence?: boolean
  powerWaitMs: number
  fenceAction: FenceAction
  /** A label to group nodes by in the dashboard (a rack, a room, a role). */
  group?: string
}

export interface JournalConfig {
  path: string
  /** Rotate past this size; open intents are carried into the new file. */
  maxBytes: number
  /** Rotated files kept (journal.jsonl.1 …). */
  keep: number
}

/** Bounds on what one token may have in flight through the API (src/api/inflight.ts). */
export interface ApiSettings {
  /** Operations in flight per token; fence requests have a budget of their own. */
  maxInFlightPerToken: number
  /** Operations in flight per token on one node (fences: their own budget). */
  maxInFlightPerNode: number
}

export const API_DEFAULTS: ApiSettings = { maxInFlightPerToken: 64, maxInFlightPerNode: 4 }

export interface GatewayConfig {
  file: string
  listen: { host: string; port: number }
  tls?: { certFile: string; keyFile: string }
  /** Plain HTTP on an address other than loopback, written out (tokens cross the network in clear). */
  allowPlainHttp?: boolean
  tokens: TokenConfig[]
  journal: JournalConfig
  engine: EngineSettings
  /** Absent (a config built by hand): API_DEFAULTS. */
  api?: ApiSettings
  devices: Map<string, DeviceConfig>
  nodes: Map<string, NodeConfig>
  /** The heartbeat section, validated by src/heartbeat when present. */
  heartbeat?: Record<string, unknown>
  /** Replica mode (src/config/coordination.ts); absent: one gateway, the embedded default. */
  coordination?: CoordinationConfig
  /** Running on mock devices (the demo): every answer says so. */
  simulated: boolean
}

export const ENGINE_DEFAULTS: EngineSettings = {
  defaultTimeoutMs: 40_000,
  fenceHoldMs: 60_000,
  powerWaitMs: 4_000,
  probeIntervalMs: 30_000,
  probeTimeoutMs: 5_000,
  retries: 2,
  onStaggerMs: 200,
  verifyPollMs: 25,
}

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE

/** The range of every engine setting (docs/configuration.md lists the same). */
export const ENGINE_RANGES = {
  defaultTimeout: { min: 100, max: HOUR },
  fenceHold: { min: 0, max: 24 * HOUR },
  powerWait: { min: 0, max: 10 * MINUTE },
  probeInterval: { min: 10, max: 24 * HOUR, zeroOff: true },
  probeTimeout: { min: 10, max: 10 * MINUTE },
  retries: { min: 0, max: 10 },
  onStagger: { min: 0, max: MINUTE },
  verifyPoll: { min: 1, max: SECOND },
} as const

/** journal.maxBytes: rotating below 64 KiB would rotate every few records. */
export const JOURNAL_MAX_BYTES = { min: 64 * 1024, max: 16 * 1024 ** 3 } as const

const ID = /^[A-Za-z][A-Za-z0-9_.-]*$/

/**
 * Validate a parsed config document: one reader per section, in the order they are listed in
 * docs/configuration.md. Problems carry field paths; `loadConfig` adds lines.
 */
export function readConfig(
  doc: unknown,
  file = '(inline)',
): { config: GatewayConfig; problems: FieldProblem[] } {
  const problems: FieldProblem[] = []
  const top = asMapping(doc) ?? {}
  if (!asMapping(doc)) problems.push({ path: [], message: `expected a mapping, got ${describe(doc)}` })
  const f = new Fields(top)
  const listen = f.hostPort('listen', { host: '127.0.0.1', port: 8443 })
  const simulated = f.bool('simulated', false)
  const tls = readTls(top, problems)
  const allowPlainHttp = f.bool('allowPlainHttp', false)
  const plain = plainHttpProblem(listen.host, !!tls, allowPlainHttp)
  if (plain) problems.push({ path: ['listen'], message: plain })
  const tokens = readAuth(top, problems)
  const journal = readJournal(top, problems)
  const engine = readEngine(top, problems)
  const api = readApi(top, problems)
  const devices = readDevices(top, problems)
  const nodes = readNodes(top, devices, engine, problems)
  const heartbeat = readHeartbeatSection(top, problems)
  const coordination = readCoordination(f, listen.port, problems)
  f.mark('tls', 'auth', 'journal', 'engine', 'api', 'devices', 'nodes', 'heartbeat')
  f.noOthers()
  problems.push(...f.problems)
  return {
    config: {
      file,
      listen,
      ...(tls ? { tls } : {}),
      allowPlainHttp,
      tokens,
      journal,
      engine,
      api,
      devices,
      nodes,
      ...(heartbeat ? { heartbeat } : {}),
      ...(coordination ? { coordination } : {}),
      simulated,
    },
    problems,
  }
}

type Top = Record<string, unknown>

/** `tls: {cert, key}`: PEM files; absent = plain HTTP. */
function readTls(top: Top, problems: FieldProblem[]): GatewayConfig['tls'] | undefined {
  let tls: GatewayConfig['tls']
  if (top.tls !== undefined) {
    const t = new Fields(asMapping(top.tls) ?? {}, ['tls'])
    tls = {
      certFile: t.str('cert', { hint: 'a PEM file path' }),
      keyFile: t.str('key', { hint: 'a PEM file path' }),
    }
    t.noOthers()
    problems.push(...t.problems)
  }
  return tls
}

/** `auth: {tokens: [...]}`: the tokens, their roles and nodes. */
function readAuth(top: Top, problems: FieldProblem[]): TokenConfig[] {
  const tokens: TokenConfig[] = []
  const auth = asMapping(top.auth)
  if (top.auth !== undefined && !auth)
    problems.push({ path: ['auth'], message: 'expected a mapping with tokens: [...]' })
  const rawTokens = auth?.tokens ?? []
  if (!Array.isArray(rawTokens))
    problems.push({ path: ['auth', 'tokens'], message: 'expected a list of tokens' })
  else
    rawTokens.forEach((raw, i) => {
      const t = new Fields(asMapping(raw) ?? {}, ['auth', 'tokens', i])
      const name = t.str('name', { pattern: ID, hint: 'a name (letters, digits, . _ -)' })
      const hash = t.str('hash', {
        pattern: /^sha256:[0-9a-f]{64}$/,
        hint: "'sha256:' and 64 hex digits (fencegate token)",
      })
      const role = t.oneOf('role', ['viewer', 'operator', 'fencer'] as const)
      let nodes: string[] | undefined
      if (t.has('nodes')) {
        const v = t.section.nodes
        const list = Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : undefined
        if (!list)
          problems.push({
            path: ['auth', 'tokens', i, 'nodes'],
            message: 'expected a hostlist or a list of hostlists',
          })
        else nodes = list.flatMap((h) => expandOr(h, ['auth', 'tokens', i, 'nodes'], problems))
        t.mark('nodes')
      }
      if (tokens.some((x) => x.name === name))
        problems.push({ path: ['auth', 'tokens', i, 'name'], message: `duplicate token name '${name}'` })
      t.noOthers()
      problems.push(...t.problems)
      tokens.push({ name, hash: Buffer.from(hash.slice(7), 'hex'), role, ...(nodes ? { nodes } : {}) })
    })
  if (auth) new Fields(auth, ['auth']).noOthers(['tokens'])

  return tokens
}

/** `journal`: a path, or a mapping {path, maxBytes, keep}. */
function readJournal(top: Top, problems: FieldProblem[]): JournalConfig {
  let journal: JournalConfig = { path: '/var/lib/fencegate/journal.jsonl', maxBytes: 64 * 1024 ** 2, keep: 3 }
  if (typeof top.journal === 'string') journal.path = top.journal
  else if (top.journal !== undefined) {
    const j = new Fields(asMapping(top.journal) ?? {}, ['journal'])
    journal = {
      path: j.str('path'),
      maxBytes: j.size('maxBytes', journal.maxBytes, JOURNAL_MAX_BYTES),
      keep: j.int('keep', { default: 3, min: 1, max: 100 }),
    }
    j.noOthers()
    problems.push(...j.problems)
  }
  return journal
}

/** `engine`: the engine settings, each within ENGINE_RANGES. */
function readEngine(top: Top, problems: FieldProblem[]): EngineSettings {
  const e = new Fields(asMapping(top.engine) ?? {}, ['engine'])
  const engine: EngineSettings = {
    defaultTimeoutMs: e.duration(
      'defaultTimeout',
      ENGINE_DEFAULTS.defaultTimeoutMs,
      ENGINE_RANGES.defaultTimeout,
    ),
    fenceHoldMs: e.duration('fenceHold', ENGINE_DEFAULTS.fenceHoldMs, ENGINE_RANGES.fenceHold),
    powerWaitMs: e.duration('powerWait', ENGINE_DEFAULTS.powerWaitMs, ENGINE_RANGES.powerWait),
    probeIntervalMs: e.duration(
      'probeInterval',
      ENGINE_DEFAULTS.probeIntervalMs,
      ENGINE_RANGES.probeInterval,
    ),
    probeTimeoutMs: e.duration('probeTimeout', ENGINE_DEFAULTS.probeTimeoutMs, ENGINE_RANGES.probeTimeout),
    retries: e.int('retries', { default: ENGINE_DEFAULTS.retries, ...ENGINE_RANGES.retries }),
    onStaggerMs: e.duration('onStagger', ENGINE_DEFAULTS.onStaggerMs, ENGINE_RANGES.onStagger),
    verifyPollMs: e.duration('verifyPoll', ENGINE_DEFAULTS.verifyPollMs, ENGINE_RANGES.verifyPoll),
  }
  e.noOthers()
  problems.push(...e.problems)
  return engine
}

/** `api`: bounds on the operations a token has in flight (429 past them). */
function readApi(top: Top, problems: FieldProblem[]): ApiSettings {
  const a = new Fields(asMapping(top.api) ?? {}, ['api'])
  const api: ApiSettings = {
    maxInFlightPerToken: a.int('maxInFlightPerToken', {
      default: API_DEFAULTS.maxInFlightPerToken,
      min: 1,
      max: 10_000,
    }),
    maxInFlightPerNode: a.int('maxInFlightPerNode', {
      default: API_DEFAULTS.maxInFlightPerNode,
      min: 1,
      max: 1_000,
    }),
  }
  a.noOthers()
  problems.push(...a.problems)
  return api
}

/** `devices`: id → section; the common fields and the driver's own by drivers/registry.ts readDeviceSection. */
function readDevices(top: Top, problems: FieldProblem[]): Map<string, DeviceConfig> {
  const devices = new Map<string, DeviceConfig>()
  const rawDevices = asMapping(top.devices)
  if (!rawDevices)
    problems.push({
      path: ['devices'],
      message: `expected a mapping of device ids to {driver: …}, got ${describe(top.devices)}`,
    })
  for (const [id, raw] of Object.entries(rawDevices ?? {})) {
    const path = ['devices', id]
    const section = asMapping(raw)
    if (!ID.test(id))
      problems.push({ path, message: 'device ids start with a letter: letters, digits, . _ -' })
    if (!section) {
      problems.push({ path, message: `expected a mapping with driver: …, got ${describe(raw)}` })
      continue
    }
    const { kind, config, deviceCycle, verifies, problems: own } = readDeviceSection(section)
    problems.push(...own.map((p) => ({ path: [...path, ...p.path], message: p.message })))
    if (kind) devices.set(id, { id, driver: kind, config, deviceCycle, verifies })
  }
  return devices
}

/** `nodes`: name → plugs or levels (a plug belongs to one node), fence, powerWait, fenceAction. */
function readNodes(
  top: Top,
  devices: Map<string, DeviceConfig>,
  engine: EngineSettings,
  problems: FieldProblem[],
): Map<string, NodeConfig> {
  const nodes = new Map<string, NodeConfig>()
  const rawNodes = asMapping(top.nodes)
  if (!rawNodes)
    problems.push({
      path: ['nodes'],
      message: `expected a mapping of node names, got ${describe(top.nodes)}`,
    })
  for (const [name, raw] of Object.entries(rawNodes ?? {})) {
    const node = readNode(name, raw, devices, engine, problems)
    if (node) nodes.set(name, node)
  }
  // plugs shared between nodes are almost always a typo, and fencing one would kill the other
  const owner = new Map<string, string>()
  for (const node of nodes.values())
    for (const ref of new Set(node.levels.flat().map((r) => `${r.device}:${r.plug}`))) {
      const other = owner.get(ref)
      if (other)
        problems.push({ path: ['nodes', node.name], message: `plug ${ref} is also a plug of node ${other}` })
      else owner.set(ref, node.name)
    }
  // checks a driver can make only with the nodes in view (a ganged USB hub must list every node on it)
  for (const d of devices.values()) {
    const check = DRIVERS.get(d.driver)?.checkNodes
    if (!check) continue
    const uses = [...nodes.values()]
      .map((n) => ({
        node: n.name,
        plugs: [
          ...new Set(
            n.levels
              .flat()
              .filter((r) => r.device === d.id)
              .map((r) => r.plug),
          ),
        ],
        fence: n.fence !== false,
      }))
      .filter((u) => u.plugs.length > 0)
    for (const p of check(d.config, uses))
      problems.push({ path: ['devices', d.id, ...p.path], message: p.message })
  }

  return nodes
}

/** One node: plugs or levels (the last may be manual), whether it may be fenced, powerWait, fenceAction. */
function readNode(
  name: string,
  raw: unknown,
  devices: Map<string, DeviceConfig>,
  engine: EngineSettings,
  problems: FieldProblem[],
): NodeConfig | undefined {
  const path = ['nodes', name]
  if (!ID.test(name))
    problems.push({ path, message: 'node names start with a letter: letters, digits, . _ -' })
  const n = new Fields(asMapping(raw) ?? {}, path)
  if (!asMapping(raw)) {
    problems.push({ path, message: 'expected a mapping with plugs: [...] or levels: [[...], ...]' })
    return undefined
  }
  let levels: PlugRef[][] = []
  let manual = false
  if (n.has('plugs') && n.has('levels')) problems.push({ path, message: 'give plugs or levels, not both' })
  else if (n.has('plugs')) levels = [plugList(n.section.plugs, [...path, 'plugs'], devices, problems)]
  else if (n.has('levels')) {
    const lv = n.section.levels
    if (!Array.isArray(lv) || lv.length === 0 || lv.length > 9)
      problems.push({
        path: [...path, 'levels'],
        message: 'expected 1 to 9 levels, each a list of plugs (the last may be manual)',
      })
    else {
      manual = lv.at(-1) === 'manual'
      const plugLevels = manual ? lv.slice(0, -1) : lv
      levels = plugLevels.map((l, i) => {
        if (l !== 'manual') return plugList(l, [...path, 'levels', i], devices, problems)
        problems.push({
          path: [...path, 'levels', i],
          message: 'manual can only be the last level (after every device has been tried)',
        })
        return []
      })
    }
  } else problems.push({ path, message: 'required: plugs: [DEVICE:PLUG, ...] or levels: [[...], ...]' })
  n.mark('plugs', 'levels')
  const fence = n.bool('fence', true)
  if (fence)
    levels.forEach((level, i) => {
      for (const r of level) {
        const d = devices.get(r.device)
        if (d && !d.verifies)
          problems.push({
            path: [...path, n.has('levels') ? 'levels' : 'plugs', ...(n.has('levels') ? [i] : [])],
            message:
              `device ${r.device} (${d.driver}) cannot read its outlets back, so it can never prove the node ` +
              'off: it cannot be a fencing level. For operator on/off/cycle only, add fence: false to the node',
          })
      }
    })
  else if (manual)
    problems.push({
      path: [...path, 'levels'],
      message: 'a manual level is for fencing: not with fence: false',
    })
  const node: NodeConfig = {
    name,
    levels,
    manual,
    fence,
    powerWaitMs: n.duration('powerWait', engine.powerWaitMs, ENGINE_RANGES.powerWait),
    fenceAction: n.oneOf('fenceAction', ['off', 'reboot'] as const, 'off'),
    ...optional('group', n.optStr('group')),
  }
  n.noOthers()
  problems.push(...n.problems)
  return node
}

/** `heartbeat`: kept as a mapping; src/heartbeat validates it (loadConfig). */
function readHeartbeatSection(top: Top, problems: FieldProblem[]): Record<string, unknown> | undefined {
  const heartbeat = top.heartbeat === undefined ? undefined : asMapping(top.heartbeat)
  if (top.heartbeat !== undefined && !heartbeat)
    problems.push({ path: ['heartbeat'], message: 'expected a mapping' })
  return heartbeat
}

/** 127.0.0.0/8, ::1 and localhost: an address only this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase()
  return (
    h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === '::ffff:127.0.0.1'
  )
}

/**
 * Plain HTTP where other machines can reach it carries every token in clear: refused unless the
 * config gives tls or says allowPlainHttp: true. The message of the refusal, or undefined.
 */
export function plainHttpProblem(host: string, tls: boolean, allowPlainHttp: boolean): string | undefined {
  if (tls || allowPlainHttp || isLoopback(host)) return undefined
  return `plain HTTP on ${host || '0.0.0.0'}, an address other than loopback: tokens would cross the network in clear. Give tls: {cert, key}, or write allowPlainHttp: true to accept that`
}

function expandOr(h: string, path: (string | number)[], problems: FieldProblem[]): string[] {
  try {
    return expandHostlist(h)
  } catch (e) {
    problems.push({ path, message: e instanceof HostlistError ? e.line : String(e) })
    return []
  }
}

function plugList(
  v: unknown,
  path: (string | number)[],
  devices: Map<string, DeviceConfig>,
  problems: FieldProblem[],
): PlugRef[] {
  const list = Array.isArray(v) ? v : typeof v === 'string' ? [v] : undefined
  if (!list || list.length === 0) {
    problems.push({ path, message: 'expected a list of DEVICE:PLUG (or DEVICE for a single-target device)' })
    return []
  }
  return list.map((item, i) => {
    const s = String(item)
    const colon = s.indexOf(':')
    const device = colon < 0 ? s : s.slice(0, colon)
    let plug = colon < 0 ? undefined : s.slice(colon + 1)
    const dev = devices.get(device)
    if (!dev) {
      problems.push({
        path: [...path, i],
        message: `no device '${device}' in devices (expected DEVICE:PLUG)`,
      })
      return { device, plug: plug ?? '' }
    }
    if (plug === undefined) {
      plug = DRIVERS.get(dev.driver)?.singlePlug
      if (plug === undefined) {
        problems.push({
          path: [...path, i],
          message: `device '${device}' has several plugs: write ${device}:PLUG`,
        })
        return { device, plug: '' }
      }
    }
    if (!plug) problems.push({ path: [...path, i], message: `empty plug after '${device}:'` })
    return { device, plug }
  })
}

/** Read, validate, and report every problem as `FILE:LINE: field: expected …`. */
export function loadConfig(file: string): GatewayConfig {
  const src = YamlSource.read(file)
  const { config, problems } = readConfig(src.value, file)
  if (config.heartbeat) {
    // the heartbeat section is src/heartbeat's to read; its mistakes get their line here too
    const hb = readHeartbeatConfig(config.heartbeat, {
      journalPath: config.journal.path,
      defaultTimeoutMs: config.engine.defaultTimeoutMs,
      fenceNodes: [...config.nodes.keys()],
    })
    problems.push(...hb.problems)
  }
  src.assertNone(problems)
  return config
}

/** `{[key]: value}`, or nothing when the value is absent. */
function optional<K extends string, V>(key: K, value: V | undefined): { [k in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [k in K]?: V })
}
