/**
 * Prometheus metrics, one Registry per app (tests build many apps; the global default
 * registry would collide). Operation metrics are fed by engine.onOperation; device health is
 * read from the engine at scrape time, so it is never stale.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { DeviceHealth, FenceEngine, Operation } from '../engine/types.js'

/** Bounds in seconds: a dummy round is ~1 ms, a BMC power-off with read-back 5–30 s. */
const DURATION_BUCKETS = [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 60, 120]

export class Metrics {
  readonly registry = new Registry()
  private readonly unsubscribe: () => void
  private devices: DeviceHealth[] = []

  constructor(
    private readonly engine: FenceEngine,
    opts: { processMetrics?: boolean } = {},
  ) {
    const registers = [this.registry]
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry })

    const ops = new Counter({
      name: 'fencegate_operations_total',
      help: 'Node results of finished operations (one per node of an operation), by kind, action and outcome',
      labelNames: ['kind', 'action', 'outcome'] as const,
      registers,
    })
    const duration = new Histogram({
      name: 'fencegate_operation_duration_seconds',
      help: 'Time to finish one node of an operation (read-back included), by kind and action',
      labelNames: ['kind', 'action'] as const,
      buckets: DURATION_BUCKETS,
      registers,
    })
    const onUnverified = new Counter({
      name: 'fencegate_reboot_power_on_unverified_total',
      help: 'Reboots and cycles whose off was verified but whose power-on did not read back on',
      registers,
    })
    this.unsubscribe = engine.onOperation((op: Operation) => {
      for (const r of op.results) {
        ops.inc({ kind: op.kind, action: op.action, outcome: r.outcome })
        duration.observe({ kind: op.kind, action: op.action }, r.durationMs / 1000)
        if (r.onVerified === false) onUnverified.inc()
      }
    })

    // device health: values copied from the engine's own counters at each scrape (text())
    const snapshot = () => this.devices
    new Gauge({
      name: 'fencegate_device_up',
      help: '1 when the last probe of the device read every plug, 0 when it failed or none ran yet',
      labelNames: ['device', 'driver'] as const,
      registers,
      collect() {
        this.reset()
        for (const d of snapshot()) this.set({ device: d.id, driver: d.driver }, d.state === 'ok' ? 1 : 0)
      },
    })
    new Gauge({
      name: 'fencegate_device_unverified',
      help: '1 for a device that cannot read its outlets back (operator power only, never a fencing level)',
      labelNames: ['device', 'driver'] as const,
      registers,
      collect() {
        this.reset()
        for (const d of snapshot()) this.set({ device: d.id, driver: d.driver }, d.verifies ? 0 : 1)
      },
    })
    new Gauge({
      name: 'fencegate_device_probe_latency_seconds',
      help: 'Latency of the last successful probe of the device',
      labelNames: ['device'] as const,
      registers,
      collect() {
        this.reset()
        for (const d of snapshot())
          if (d.latencyMs !== undefined) this.set({ device: d.id }, d.latencyMs / 1000)
      },
    })
    const copyCounter = (name: string, help: string, pick: (d: DeviceHealth) => number) =>
      new Counter({
        name,
        help,
        labelNames: ['device'] as const,
        registers,
        collect() {
          this.reset()
          for (const d of snapshot()) this.inc({ device: d.id }, pick(d))
        },
      })
    copyCounter('fencegate_device_probes_total', 'Probes of the device', (d) => d.counts.probes)
    copyCounter(
      'fencegate_device_probe_failures_total',
      'Probes of the device that failed',
      (d) => d.counts.probeFailures,
    )
    copyCounter('fencegate_device_commands_total', 'Commands sent to the device', (d) => d.counts.commands)
    copyCounter(
      'fencegate_device_command_failures_total',
      'Commands to the device that failed',
      (d) => d.counts.commandFailures,
    )
    new Gauge({
      name: 'fencegate_device_queued',
      help: 'Commands waiting for the device',
      labelNames: ['device'] as const,
      registers,
      collect() {
        this.reset()
        for (const d of snapshot()) this.set({ device: d.id }, d.queued)
      },
    })
  }

  async text(): Promise<string> {
    this.devices = this.engine.devices()
    return this.registry.metrics()
  }

  get contentType(): string {
    return this.registry.contentType
  }

  close(): void {
    this.unsubscribe()
    this.registry.clear()
  }
}
