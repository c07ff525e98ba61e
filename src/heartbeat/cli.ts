/**
 * `fencegate members`: the cluster membership of a running gateway (GET /v1/heartbeat), as a
 * table for people or JSON for scripts. Exit 0 when every member is up, 1 otherwise (a script
 * can alert on it), 2 on a bad command line.
 */
import { formatDuration } from '../../core/duration.js'
import { table } from '../cli/format.js'
import { type CliIo, EXIT } from '../cli/io.js'
import { resolveToken, resolveUrl, tokenSource } from '../cli/settings.js'
import type { HeartbeatSnapshot } from './protocol.js'

export interface MembersOptions {
  url?: string
  tokenFile?: string
  json?: boolean
}

export function membersTable(s: HeartbeatSnapshot): string {
  const ago = (ms?: number) => (ms === undefined ? '-' : `${formatDuration(ms)} ago`)
  const nodes = table(
    ['NODE', 'STATE', 'LAST HEARD', 'DEADTIME', 'LATE', 'MAX GAP', 'LINKS', 'SOFTWARE'],
    s.nodes.map((n) => [
      n.self ? `${n.name} (this node)` : n.name,
      n.state === 'dead' && n.reason ? `dead (${n.reason})` : n.state,
      n.self ? '-' : ago(n.lastHeardAgoMs),
      formatDuration(n.deadtimeMs),
      n.self ? '-' : String(n.lateHeartbeats),
      n.maxIntervalMs !== undefined ? formatDuration(n.maxIntervalMs) : '-',
      n.self
        ? '-'
        : n.links
            .filter((l) => l.state !== 'init')
            .map((l) => `${l.name}:${l.state}`)
            .join(' ') || 'none heard',
      n.software ?? '-',
    ]),
  )
  const links = table(
    ['LINK', 'KIND', 'STATE', 'SENT', 'RECEIVED', 'DROPPED'],
    s.links.map((l) => [
      l.name,
      l.kind,
      l.lastError && l.state !== 'open' ? `${l.state} (${l.lastError})` : l.state,
      String(l.sent),
      String(l.received),
      Object.entries(l.dropped)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ') || '0',
    ]),
  )
  const q = s.quorum
  const f = s.fencing
  const fencing = !f.enabled
    ? 'fencing: off'
    : f.blockedBy
      ? `fencing: BLOCKED (${f.blockedBy})`
      : `fencing: on (action ${f.action}${f.preferred ? `, preferred ${f.preferred}` : ''})`
  const victims = f.victims.map(
    (v) => `  ${v.node}: ${v.status}${v.executor ? ` by ${v.executor}` : ''}${v.why ? ` — ${v.why}` : ''}`,
  )
  return [
    nodes,
    links,
    `quorum: ${q.live} of ${q.members} alive${q.ping && !q.twoNode ? ` + ${q.ping.reached.length} of ${q.ping.nodes} ping nodes, ${q.needed} votes needed` : `, ${q.needed} needed`}${q.twoNode ? ' (two-node)' : ''}: ${q.quorate ? 'quorate' : 'NO QUORUM'}`,
    ...(s.ping
      ? [
          `ping nodes: ${s.ping
            .map(
              (p) =>
                `${p.name}${p.group ? ` (${p.addresses.join(' ')})` : ''} ${p.state}${p.lastHeardAgoMs !== undefined ? ` ${p.lastHeardAgoMs}ms ago` : ''}`,
            )
            .join(', ')}`,
        ]
      : []),
    `${fencing}; generation ${s.generation}, auth ${s.authMethod}, keepalive ${formatDuration(s.keepaliveMs)}, deadtime ${formatDuration(s.deadtimeMs)}`,
    ...victims,
    '',
  ].join('\n')
}

export async function membersCommand(io: CliIo, o: MembersOptions): Promise<number> {
  const { HttpBackend } = await import('../cli/http-backend.js')
  const backend = new HttpBackend(
    resolveUrl(io, o.url),
    resolveToken(io, o.tokenFile),
    tokenSource(io, o.tokenFile),
  )
  const answer = await backend.heartbeat(io.stop)
  io.stdout.write(o.json ? `${JSON.stringify(answer, null, 2)}\n` : membersTable(answer))
  return answer.nodes.every((n) => n.state === 'up') ? EXIT.ok : EXIT.failed
}
