import { dirname, join } from 'node:path'
import type { FieldProblem } from '../../core/problems.js'
import { Fields, describe } from '../../core/fields.js'
import type { FenceAction } from '../../core/types.js'

/**
 * The `heartbeat:` section. Names and meanings follow heartbeat's ha.cf (keepalive, warntime,
 * deadtime, initdeadtime, serial/baud, mcast, ucast, bcast, udpport) so that an operator who knows
 * heartbeat reads it at once, and so that fencegate and heartbeat 3 nodes can share one cluster.
 */
export type LinkConfig = SerialLink | McastLink | UcastLink | BcastLink

interface LinkBase {
  /** Shown in the API, metrics and logs: the tty path, or `mcast:eth0`, `ucast:eth1:10.0.0.2`, `bcast:eth0`. */
  name: string
}
export interface SerialLink extends LinkBase {
  kind: 'serial'
  path: string
  baud: number
  /** RTS/CTS flow control, as heartbeat sets it (a full null-modem cable carries it). */
  rtscts: boolean
}
export interface McastLink extends LinkBase {
  kind: 'mcast'
  interface: string
  group: string
  port: number
  ttl: number
  loop: boolean
}
export interface UcastLink extends LinkBase {
  kind: 'ucast'
  interface: string
  peer: string
  port: number
}
export interface BcastLink extends LinkBase {
  kind: 'bcast'
  interface: string
  port: number
}

export interface FenceSettings {
  /** Heartbeat-triggered fencing (design rule 10): off unless asked for. */
  enabled: boolean
  quorum: 'majority'
  action: FenceAction
  /** Two-node clusters: the node that fences at once; the other waits raceDelay. */
  preferred?: string
  raceDelayMs: number
  /** The deadline of one heartbeat-triggered fence (what the engine gets). */
  timeoutMs: number
  /** A failed fence is tried again after this, while the node stays dead and we stay the executor. */
  retryMs: number
  /**
   * Fence a member never heard since we started, once initdeadtime has passed (Pacemaker's
   * startup-fencing). Two-node clusters never do: wait-for-all.
   */
  startupFencing: boolean
}

/**
 * heartbeat's `ping` / `ping_group` nodes: addresses that stand outside the cluster (the default
 * router, say). Each `ping` address is a ping node named by its address; each group is one ping
 * node named by the group's name, reachable while any of its addresses answers.
 * Defaults follow heartbeat: a probe every keepalive (here at most every 1 s, at least every
 * 200 ms), deadping = deadtime.
 */
export interface PingNode {
  name: string
  addresses: string[]
  group: boolean
}

export interface PingSettings {
  nodes: PingNode[]
  /** `icmp`: the system ping binary (ICMP echo); `udp`: an echo datagram to `port` (RFC 862). */
  method: 'icmp' | 'udp'
  port: number
  /** One probe of every address per interval. */
  intervalMs: number
  /** A probe not answered within this is lost (the child process is killed). */
  timeoutMs: number
  /** heartbeat's deadping: a ping node with no answer for this long is dead. */
  deadMs: number
}

export interface HeartbeatConfig {
  node: string
  nodes: string[]
  keepaliveMs: number
  warntimeMs: number
  deadtimeMs: number
  initdeadMs: number
  links: LinkConfig[]
  authKeyFile: string
  /** crc is no protection; refused unless this is set. */
  allowCrc: boolean
  /** Our generation number and uuid live here (fsynced). */
  stateDir: string
  fence: FenceSettings
  /** Ping nodes (absent, or no nodes, when the section has no `ping` or `pingGroups`). */
  ping?: PingSettings
}

/** What the section needs from the rest of the gateway config. */
export interface GatewayContext {
  journalPath?: string
  defaultTimeoutMs?: number
  /** Node names of the `nodes:` section (fence targets). */
  fenceNodes?: Iterable<string>
}

/** heartbeat lower-cases `uname -n` into `src`: a name with capitals would never match. */
const NODE = /^[a-z0-9][a-z0-9_.-]{0,63}$/
const IFACE = /^[A-Za-z0-9_.:@-]{1,15}$/
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/
const BAUDS = [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600]
export const DEFAULT_UDP_PORT = 694
/** raceDelay must exceed peer deadtime + keepalive + the preferred node's fence deadline by this much. */
export const RACE_MARGIN_MS = 1000

const MINUTE = 60_000
const HOUR = 60 * MINUTE
/**
 * The range of every duration (docs/heartbeat.md lists the same). raceDelay's ceiling is above the
 * largest deadtime + keepalive + fence timeout + margin the other ranges allow (2h 1m 1s).
 */
export const HEARTBEAT_RANGES = {
  keepalive: { min: 10, max: MINUTE },
  deadtime: { min: 20, max: HOUR },
  warntime: { min: 0, max: HOUR },
  initdeadtime: { min: 0, max: 24 * HOUR },
  fenceTimeout: { min: 1000, max: HOUR },
  retryInterval: { min: 100, max: HOUR },
  raceDelay: { min: 0, max: 3 * HOUR },
  pingInterval: { min: 200, max: MINUTE },
  pingTimeout: { min: 100, max: MINUTE },
  deadping: { min: 500, max: HOUR },
} as const
/** More ping addresses than this is a misconfiguration (each is probed every interval). */
export const MAX_PING_ADDRESSES = 16
const PING_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/

export function readHeartbeatConfig(
  section: Record<string, unknown>,
  ctx: GatewayContext = {},
): { config: HeartbeatConfig; problems: FieldProblem[] } {
  const base = ['heartbeat']
  const problems: FieldProblem[] = []
  const f = new Fields(section, base)
  const at = (...p: (string | number)[]) => [...base, ...p]

  const node = f.str('node', { pattern: NODE, hint: 'this node name (lower case, as heartbeat sends it)' })
  const nodes: string[] = []
  const rawNodes = section.nodes
  if (!Array.isArray(rawNodes) || rawNodes.length < 2)
    problems.push({
      path: at('nodes'),
      message: `expected a list of at least 2 node names, got ${describe(rawNodes)}`,
    })
  else
    rawNodes.forEach((n, i) => {
      const s = String(n)
      if (!NODE.test(s))
        problems.push({
          path: at('nodes', i),
          message: `expected a lower-case node name, got ${describe(n)}`,
        })
      else if (nodes.includes(s)) problems.push({ path: at('nodes', i), message: `node ${s} listed twice` })
      else nodes.push(s)
    })
  f.mark('nodes')
  if (node && nodes.length && !nodes.includes(node))
    problems.push({ path: at('node'), message: `this node '${node}' is not in nodes` })

  const before = f.problems.length
  const keepaliveMs = f.duration('keepalive', 1000, HEARTBEAT_RANGES.keepalive)
  const deadtimeMs = f.duration('deadtime', 30_000, HEARTBEAT_RANGES.deadtime)
  const warntimeMs = f.duration('warntime', Math.round(deadtimeMs / 2), HEARTBEAT_RANGES.warntime)
  const initdeadMs = f.duration('initdeadtime', defaultInitdead(deadtimeMs), HEARTBEAT_RANGES.initdeadtime)
  // heartbeat's own rules (config.c); only between values that parsed
  const timingOk = f.problems.length === before
  if (timingOk && deadtimeMs <= 2 * keepaliveMs)
    problems.push({ path: at('deadtime'), message: `must exceed twice the keepalive (${2 * keepaliveMs}ms)` })
  if (timingOk && (warntimeMs <= keepaliveMs || warntimeMs >= deadtimeMs))
    problems.push({ path: at('warntime'), message: 'must lie between keepalive and deadtime' })
  if (initdeadMs < deadtimeMs)
    problems.push({ path: at('initdeadtime'), message: 'must be at least deadtime' })

  const links = readLinks(section.links, at('links'), problems)
  f.mark('links')
  const authKeyFile = f.str('authKeyFile', { hint: 'an authkeys file (heartbeat format, mode 600)' })
  if (f.has('authKey'))
    problems.push({
      path: at('authKey'),
      message: 'the key is not written in the config: use authKeyFile: PATH',
    })
  f.mark('authKey')
  const allowCrc = f.bool('allowCrc', false)
  const defaultState = ctx.journalPath
    ? join(dirname(ctx.journalPath), 'heartbeat')
    : '/var/lib/fencegate/heartbeat'
  const stateDir = f.str('stateDir', { default: defaultState })

  const ping = readPing(f, section, at, problems, { keepaliveMs, deadtimeMs })
  const fence = readFence(section.fence, at('fence'), problems, {
    nodes,
    keepaliveMs,
    deadtimeMs,
    defaultTimeoutMs: ctx.defaultTimeoutMs ?? 40_000,
    ping,
  })
  f.mark('fence')
  if (fence.enabled && ping.nodes.length && ping.deadMs > deadtimeMs)
    problems.push({
      path: at('deadping'),
      message: `with fencing enabled deadping must not exceed deadtime (${deadtimeMs}ms): a member must know it lost its ping nodes before it judges a dead peer`,
    })
  if (fence.enabled && ctx.fenceNodes) {
    const known = new Set(ctx.fenceNodes)
    for (const n of nodes)
      if (!known.has(n))
        problems.push({
          path: at('nodes'),
          message: `with fencing enabled every member needs fence devices: no node '${n}' in nodes:`,
        })
  }

  f.noOthers()
  problems.push(...f.problems)
  return {
    config: {
      node,
      nodes,
      keepaliveMs,
      warntimeMs,
      deadtimeMs,
      initdeadMs,
      links,
      authKeyFile,
      allowCrc,
      stateDir,
      fence,
      ping,
    },
    problems,
  }
}

/** heartbeat's default: 12 s below a 6 s deadtime, else twice the deadtime, never below 10 s' worth. */
function defaultInitdead(deadtimeMs: number): number {
  if (deadtimeMs > 10_000) return deadtimeMs
  if (deadtimeMs < 6_000) return 12_000
  return 2 * deadtimeMs
}

function readLinks(raw: unknown, path: (string | number)[], problems: FieldProblem[]): LinkConfig[] {
  if (!Array.isArray(raw) || raw.length === 0) {
    problems.push({
      path,
      message: `expected a list of links (serial, mcast, ucast, bcast), got ${describe(raw)}`,
    })
    return []
  }
  const links: LinkConfig[] = []
  raw.forEach((item, i) => {
    const p = [...path, i]
    const m =
      item && typeof item === 'object' && !Array.isArray(item) ? (item as Record<string, unknown>) : undefined
    if (!m) {
      problems.push({
        path: p,
        message: `expected { serial: … } or { mcast|ucast|bcast: {…} }, got ${describe(item)}`,
      })
      return
    }
    const kinds = ['serial', 'mcast', 'ucast', 'bcast'].filter((k) => m[k] !== undefined)
    if (kinds.length !== 1) {
      problems.push({ path: p, message: 'expected exactly one of serial, mcast, ucast, bcast' })
      return
    }
    const kind = kinds[0]!
    const top = new Fields(m, p)
    const name = top.optStr('name')
    let link: LinkConfig | undefined
    if (kind === 'serial') {
      const dev = top.str('serial', { pattern: /^\//, hint: 'a tty path like /dev/ttyS0' })
      const baud = top.int('baud', { default: 19200 })
      if (!BAUDS.includes(baud))
        problems.push({ path: [...p, 'baud'], message: `expected one of ${BAUDS.join(', ')}, got ${baud}` })
      link = { kind, name: name ?? dev, path: dev, baud, rtscts: top.bool('rtscts', true) }
    } else {
      top.mark(kind)
      const sub = m[kind] && typeof m[kind] === 'object' ? (m[kind] as Record<string, unknown>) : undefined
      if (!sub) {
        problems.push({ path: [...p, kind], message: `expected a mapping, got ${describe(m[kind])}` })
        return
      }
      const s = new Fields(sub, [...p, kind])
      const iface = s.str('interface', { pattern: IFACE, hint: 'a network interface name' })
      const port = s.int('port', { default: DEFAULT_UDP_PORT, min: 1, max: 65535 })
      if (kind === 'mcast') {
        const group = s.str('group', {
          pattern: IPV4,
          hint: 'an IPv4 multicast group (224.0.0.0 – 239.255.255.255)',
        })
        const first = Number(group.split('.')[0])
        if (IPV4.test(group) && (first < 224 || first > 239))
          problems.push({ path: [...p, kind, 'group'], message: `${group} is not a multicast address` })
        link = {
          kind,
          name: name ?? `mcast:${iface}`,
          interface: iface,
          group,
          port,
          ttl: s.int('ttl', { default: 1, min: 0, max: 255 }),
          loop: s.bool('loop', false),
        }
      } else if (kind === 'ucast') {
        const peer = s.str('peer', { pattern: IPV4, hint: 'the peer IPv4 address' })
        link = { kind, name: name ?? `ucast:${iface}:${peer}`, interface: iface, peer, port }
      } else link = { kind: 'bcast', name: name ?? `bcast:${iface}`, interface: iface, port }
      s.noOthers()
      problems.push(...s.problems)
    }
    top.noOthers()
    problems.push(...top.problems)
    if (links.some((l) => l.name === link.name))
      problems.push({ path: p, message: `two links named '${link.name}': give one a name:` })
    links.push(link)
  })
  // without SO_BINDTODEVICE (node's dgram has none) a group socket hears the group on every
  // interface: two mcast links on one group and port could not be told apart
  const groups = new Map<string, string>()
  for (const l of links)
    if (l.kind === 'mcast') {
      const key = `${l.group}:${l.port}`
      const other = groups.get(key)
      if (other)
        problems.push({
          path,
          message: `links ${other} and ${l.name} use the same group and port: give each its own`,
        })
      groups.set(key, l.name)
    }
  return links
}

function readFence(
  raw: unknown,
  path: (string | number)[],
  problems: FieldProblem[],
  c: {
    nodes: string[]
    keepaliveMs: number
    deadtimeMs: number
    defaultTimeoutMs: number
    ping: PingSettings
  },
): FenceSettings {
  const m = raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {}
  if (raw !== undefined && m !== raw)
    problems.push({ path, message: `expected a mapping, got ${describe(raw)}` })
  const f = new Fields(m, path)
  const enabled = f.bool('enabled', false)
  const quorum = f.oneOf('quorum', ['majority'] as const, 'majority')
  const action = f.oneOf('action', ['off', 'reboot'] as const, 'off')
  const timeoutMs = f.duration('timeout', c.defaultTimeoutMs, HEARTBEAT_RANGES.fenceTimeout)
  const retryMs = f.duration('retryInterval', Math.max(5000, c.deadtimeMs), HEARTBEAT_RANGES.retryInterval)
  const preferred = f.optStr('preferred')
  const startupFencing = f.bool('startupFencing', true)
  const twoNode = c.nodes.length === 2
  // with ping nodes the preferred node may first wait one probe for its own verdict
  const pingWait = c.ping.nodes.length ? c.ping.intervalMs + c.ping.timeoutMs : 0
  const minRace = c.deadtimeMs + c.keepaliveMs + timeoutMs + pingWait + RACE_MARGIN_MS
  const raceDelayMs = f.duration('raceDelay', minRace + 1000, HEARTBEAT_RANGES.raceDelay)
  if (enabled) {
    if (c.deadtimeMs < 1000)
      problems.push({
        path: [...path.slice(0, -1), 'deadtime'],
        message: `with fencing enabled deadtime must be at least 1s (got ${c.deadtimeMs}ms): a late heartbeat must not kill a node`,
      })
    if (twoNode && !preferred)
      problems.push({
        path: [...path, 'preferred'],
        message: 'a two-node cluster needs a preferred node that fences at once (the other waits raceDelay)',
      })
    if (twoNode && raceDelayMs <= minRace)
      problems.push({
        path: [...path, 'raceDelay'],
        message: `must exceed deadtime + keepalive + fence timeout${pingWait ? ' + pingInterval + pingTimeout' : ''} + ${RACE_MARGIN_MS}ms = ${minRace}ms, or both nodes may fence`,
      })
  }
  if (preferred !== undefined) {
    if (!twoNode)
      problems.push({ path: [...path, 'preferred'], message: 'preferred applies to two-node clusters only' })
    else if (!c.nodes.includes(preferred))
      problems.push({ path: [...path, 'preferred'], message: `'${preferred}' is not in nodes` })
  }
  f.noOthers()
  problems.push(...f.problems)
  return {
    enabled,
    quorum,
    action,
    ...(preferred !== undefined ? { preferred } : {}),
    raceDelayMs,
    timeoutMs,
    retryMs,
    startupFencing,
  }
}

/**
 * `ping: [addresses]`, `pingGroups: { name: [addresses] }` and their timing. Defaults follow
 * heartbeat: one probe per second (heartbeat pings at its keepalive, 1 s by default), deadping =
 * deadtime.
 */
function readPing(
  f: Fields,
  section: Record<string, unknown>,
  at: (...p: (string | number)[]) => (string | number)[],
  problems: FieldProblem[],
  c: { keepaliveMs: number; deadtimeMs: number },
): PingSettings {
  const nodes: PingNode[] = []
  const seen = new Set<string>()
  const address = (v: unknown, path: (string | number)[]): string | undefined => {
    const s = typeof v === 'string' ? v : undefined
    if (!s || !IPV4.test(s)) {
      problems.push({ path, message: `expected an IPv4 address, got ${describe(v)}` })
      return undefined
    }
    if (seen.has(s)) {
      problems.push({ path, message: `${s} is listed twice (a ping node counts once)` })
      return undefined
    }
    seen.add(s)
    return s
  }
  const raw = section.ping
  if (raw !== undefined) {
    if (!Array.isArray(raw))
      problems.push({ path: at('ping'), message: `expected a list of IPv4 addresses, got ${describe(raw)}` })
    else
      raw.forEach((v, i) => {
        const a = address(v, at('ping', i))
        if (a) nodes.push({ name: a, addresses: [a], group: false })
      })
  }
  f.mark('ping')
  const groups = section.pingGroups
  if (groups !== undefined) {
    if (!groups || typeof groups !== 'object' || Array.isArray(groups))
      problems.push({
        path: at('pingGroups'),
        message: `expected a mapping of group name to addresses, got ${describe(groups)}`,
      })
    else
      for (const [name, list] of Object.entries(groups as Record<string, unknown>)) {
        if (!PING_NAME.test(name) || IPV4.test(name)) {
          problems.push({
            path: at('pingGroups', name),
            message: 'a group name is letters, digits, _ . - (not an address)',
          })
          continue
        }
        if (!Array.isArray(list) || list.length === 0) {
          problems.push({
            path: at('pingGroups', name),
            message: `expected a non-empty list of IPv4 addresses, got ${Array.isArray(list) ? 'none' : describe(list)}`,
          })
          continue
        }
        const addresses = list.flatMap((v, i) => address(v, at('pingGroups', name, i)) ?? [])
        if (addresses.length) nodes.push({ name, addresses, group: true })
      }
  }
  f.mark('pingGroups')
  const total = nodes.reduce((n, p) => n + p.addresses.length, 0)
  if (total > MAX_PING_ADDRESSES)
    problems.push({
      path: at('ping'),
      message: `at most ${MAX_PING_ADDRESSES} ping addresses in all, got ${total}`,
    })
  const before = f.problems.length
  const method = f.oneOf('pingMethod', ['icmp', 'udp'] as const, 'icmp')
  const port = f.int('pingPort', { default: 7, min: 1, max: 65535 })
  // heartbeat pings every keepalive: so do we, but at most once a second and at least every 200 ms
  const intervalMs = f.duration(
    'pingInterval',
    Math.min(1000, Math.max(HEARTBEAT_RANGES.pingInterval.min, c.keepaliveMs)),
    HEARTBEAT_RANGES.pingInterval,
  )
  const timeoutMs = f.duration('pingTimeout', intervalMs, HEARTBEAT_RANGES.pingTimeout)
  const deadMs = f.duration(
    'deadping',
    Math.max(c.deadtimeMs, 2 * intervalMs + 1, HEARTBEAT_RANGES.deadping.min),
    HEARTBEAT_RANGES.deadping,
  )
  if (f.problems.length === before && nodes.length) {
    if (timeoutMs > intervalMs)
      problems.push({ path: at('pingTimeout'), message: `must not exceed pingInterval (${intervalMs}ms)` })
    if (deadMs <= 2 * intervalMs)
      problems.push({
        path: at('deadping'),
        message: `must exceed twice the pingInterval (${2 * intervalMs}ms)`,
      })
  }
  return { nodes, method, port, intervalMs, timeoutMs, deadMs }
}
