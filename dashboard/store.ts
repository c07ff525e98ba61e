/** What the page knows: the token's identity, nodes, devices, operations seen; views subscribe. */
import type { DeviceHealth, NodeView, Operation, Whoami } from './api.js'

export const LATENCY_SAMPLES = 40

export const store = {
  me: undefined as Whoami | undefined,
  nodes: new Map<string, NodeView>(),
  devices: new Map<string, DeviceHealth>(),
  /** Latency of each device's successful probes, oldest first. */
  latency: new Map<string, number[]>(),
  /** Operations seen on the stream or started here, by id (running ones gather results). */
  ops: new Map<string, Operation>(),
  /** The operations this page started, newest first (the progress panel). */
  mine: [] as string[],
  selected: new Set<string>(),
  live: 'connecting' as 'connecting' | 'live' | 'down',
}

const listeners = new Set<() => void>()

/** Call `fn` after every change; returns the unsubscribe. */
export function watch(fn: () => void): () => void {
  listeners.add(fn)
  return () => listeners.delete(fn)
}

let queued = false
/** Something changed: views re-render once per frame. */
export function changed(): void {
  if (queued) return
  queued = true
  requestAnimationFrame(() => {
    queued = false
    for (const l of [...listeners]) l()
  })
}

export function setDevice(d: DeviceHealth): void {
  const before = store.devices.get(d.id)
  store.devices.set(d.id, d)
  if (d.latencyMs !== undefined && d.state === 'ok' && d.lastOkAt !== before?.lastOkAt) {
    const s = store.latency.get(d.id) ?? []
    s.push(d.latencyMs)
    if (s.length > LATENCY_SAMPLES) s.shift()
    store.latency.set(d.id, s)
  }
}

/** Merge what is known of an operation: a finished one is never replaced by an older view. */
export function setOperation(op: Operation, phase: 'started' | 'progress' | 'finished' | 'answer'): void {
  const known = store.ops.get(op.id)
  if (known && known.status !== 'running' && op.status === 'running') return
  if (phase === 'progress' && known) {
    const results = known.results.filter((r) => !op.results.some((x) => x.node === r.node))
    store.ops.set(op.id, { ...known, results: [...results, ...op.results] })
    return
  }
  store.ops.set(op.id, op)
}

export const RANK = { viewer: 0, operator: 1, fencer: 2 } as const
export function can(role: keyof typeof RANK): boolean {
  return !!store.me && RANK[store.me.role] >= RANK[role]
}
