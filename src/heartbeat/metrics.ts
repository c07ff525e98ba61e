/**
 * Heartbeat metrics on the API's registry: membership, links and drops are read from the
 * membership process at scrape time (one snapshot per scrape); fences are counted as they end.
 */
import { Counter, Gauge, type Registry } from 'prom-client'
import type { HeartbeatEvent, HeartbeatSnapshot } from './protocol.js'
import type { HeartbeatService } from './service.js'

export function heartbeatMetrics(registry: Registry, hb: HeartbeatService): () => void {
  const registers = [registry]
  // every collect() of one scrape shares one snapshot
  let cached: { at: number; snap: Promise<HeartbeatSnapshot | undefined> } | undefined
  const snap = () => {
    const now = Date.now()
    if (!cached || now - cached.at > 250) cached = { at: now, snap: hb.snapshot().catch(() => undefined) }
    return cached.snap
  }
  const gauge = (
    name: string,
    help: string,
    labelNames: string[],
    fill: (s: HeartbeatSnapshot, set: (labels: Record<string, string>, v: number) => void) => void,
  ) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers,
      async collect() {
        this.reset()
        const s = await snap()
        if (s) fill(s, (labels, v) => this.set(labels, v))
      },
    })
  const counter = (
    name: string,
    help: string,
    labelNames: string[],
    fill: (s: HeartbeatSnapshot, inc: (labels: Record<string, string>, v: number) => void) => void,
  ) =>
    new Counter({
      name,
      help,
      labelNames,
      registers,
      async collect() {
        this.reset()
        const s = await snap()
        if (s) fill(s, (labels, v) => this.inc(labels, v))
      },
    })

  gauge(
    'fencegate_heartbeat_node_up',
    '1 while the member is alive (this node always)',
    ['node'],
    (s, set) => {
      for (const n of s.nodes) set({ node: n.name }, n.state === 'up' ? 1 : 0)
    },
  )
  gauge(
    'fencegate_heartbeat_last_heard_seconds',
    'Time since the last heartbeat of the member',
    ['node'],
    (s, set) => {
      for (const n of s.nodes)
        if (n.lastHeardAgoMs !== undefined) set({ node: n.name }, n.lastHeardAgoMs / 1000)
    },
  )
  gauge(
    'fencegate_heartbeat_max_interval_seconds',
    'Longest interval between two heartbeats of the member since start (compare with deadtime)',
    ['node'],
    (s, set) => {
      for (const n of s.nodes)
        if (n.maxIntervalMs !== undefined) set({ node: n.name }, n.maxIntervalMs / 1000)
    },
  )
  gauge(
    'fencegate_heartbeat_link_up',
    '1 while the member is heard on this link',
    ['node', 'link'],
    (s, set) => {
      for (const n of s.nodes)
        for (const l of n.links)
          if (l.state !== 'init') set({ node: n.name, link: l.name }, l.state === 'up' ? 1 : 0)
    },
  )
  gauge(
    'fencegate_heartbeat_link_open',
    '1 while our end of the link is open',
    ['link', 'kind'],
    (s, set) => {
      for (const l of s.links) set({ link: l.name, kind: l.kind }, l.state === 'open' ? 1 : 0)
    },
  )
  gauge(
    'fencegate_heartbeat_ping_node_up',
    '1 while the ping node (ping / ping_group) answers our probes, 0 when dead',
    ['ping'],
    (s, set) => {
      for (const p of s.ping ?? []) if (p.state !== 'init') set({ ping: p.name }, p.state === 'up' ? 1 : 0)
    },
  )
  gauge('fencegate_heartbeat_quorate', '1 while this partition has quorum', [], (s, set) =>
    set({}, s.quorum.quorate ? 1 : 0),
  )
  gauge('fencegate_heartbeat_live_members', 'Members alive (this node included)', [], (s, set) =>
    set({}, s.quorum.live),
  )
  gauge(
    'fencegate_heartbeat_fencing_enabled',
    '1 when heartbeat fencing is on and not blocked',
    [],
    (s, set) => set({}, s.fencing.enabled && !s.fencing.blockedBy ? 1 : 0),
  )
  gauge(
    'fencegate_heartbeat_fencing_blocked',
    '1 while another membership authority (corosync…) runs here',
    [],
    (s, set) => set({}, s.fencing.blockedBy ? 1 : 0),
  )
  gauge(
    'fencegate_heartbeat_send_timer_lag_max_seconds',
    'Worst lateness of our own send timer',
    [],
    (s, set) => set({}, s.sent.maxTimerLagMs / 1000),
  )
  counter(
    'fencegate_heartbeat_late_heartbeats_total',
    'Heartbeats later than warntime, per member',
    ['node'],
    (s, inc) => {
      for (const n of s.nodes) if (!n.self) inc({ node: n.name }, n.lateHeartbeats)
    },
  )
  counter(
    'fencegate_heartbeat_node_deaths_total',
    'Times the member was declared dead',
    ['node'],
    (s, inc) => {
      for (const n of s.nodes) if (!n.self) inc({ node: n.name }, n.deaths)
    },
  )
  counter(
    'fencegate_heartbeat_link_failures_total',
    'Times a link of the member went dead',
    ['node', 'link'],
    (s, inc) => {
      for (const n of s.nodes) for (const l of n.links) inc({ node: n.name, link: l.name }, l.failures)
    },
  )
  counter(
    'fencegate_heartbeat_lost_packets_total',
    'Sequence numbers of the member never received',
    ['node'],
    (s, inc) => {
      for (const n of s.nodes) if (!n.self) inc({ node: n.name }, n.lostPackets)
    },
  )
  counter('fencegate_heartbeat_packets_received_total', 'Packets received per link', ['link'], (s, inc) => {
    for (const l of s.links) inc({ link: l.name }, l.received)
  })
  counter('fencegate_heartbeat_packets_sent_total', 'Packets sent per link', ['link'], (s, inc) => {
    for (const l of s.links) inc({ link: l.name }, l.sent)
  })
  counter(
    'fencegate_heartbeat_packets_dropped_total',
    'Packets dropped per link and reason (malformed, truncated, auth-mismatch, replay-sequence…)',
    ['link', 'reason'],
    (s, inc) => {
      for (const l of s.links)
        for (const [reason, v] of Object.entries(l.dropped)) inc({ link: l.name, reason }, v)
    },
  )
  const fences = new Counter({
    name: 'fencegate_heartbeat_fences_total',
    help: 'Heartbeat-triggered fences this gateway executed, by victim and outcome',
    labelNames: ['node', 'outcome'] as const,
    registers,
  })
  const onEvent = (e: HeartbeatEvent) => {
    if (e.kind === 'fence-done') fences.inc({ node: e.node, outcome: e.ok ? 'success' : 'failed' })
  }
  hb.on('event', onEvent)
  return () => hb.off('event', onEvent)
}
