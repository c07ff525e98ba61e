import PQueue from 'p-queue'
import pRetry from 'p-retry'
import type { PowerDriver } from '../../drivers/driver.js'
import { monotonicNow, sleep, untilAborted } from '../core/deadline.js'
import { FenceError, abortError, isTransient, toFenceError } from '../core/errors.js'
import type { DeviceAction, PowerState } from '../core/types.js'
import type { EngineSettings } from '../config/config.js'
import type { DeviceHealth } from './types.js'

/** Queue priorities: fence work goes ahead of other queued work; probes last. */
export const PRIORITY = { fence: 10, operator: 5, probe: 0 } as const
export type Priority = (typeof PRIORITY)[keyof typeof PRIORITY]

export interface RunOptions {
  priority: Priority
  signal: AbortSignal
}

export interface StepOutcome<T> {
  value: T
  tries: number
  durationMs: number
}

interface StatusBatch {
  plugs: Set<string>
  promise: Promise<Map<string, PowerState>>
  /** Aborts the device round only when every requester has gone. */
  members: AbortSignal[]
  controller: AbortController
}

/**
 * One device: its driver behind a FIFO queue with one command in flight (rule 7), retries of
 * transient errors only, status batching, `on` staggering, and health counters. It knows no
 * fencing rule: the engine decides what to ask.
 */
export class DeviceRunner {
  private readonly queue = new PQueue({ concurrency: 1 })
  private pending: StatusBatch | undefined
  private lastOnAt = Number.NEGATIVE_INFINITY
  private probing = false
  readonly health: DeviceHealth

  constructor(
    readonly id: string,
    readonly driverKind: string,
    readonly driver: PowerDriver,
    private readonly settings: EngineSettings,
    /** Every configured plug of this device (probes read them all). */
    readonly plugs: readonly string[],
    readonly deviceCycle: boolean,
    /** Told every state this device reads (operations and probes alike), for the last-known view. */
    private readonly onRead: (plug: string, state: PowerState) => void = () => {},
  ) {
    this.health = {
      id,
      driver: driverKind,
      state: 'unknown',
      counts: { probes: 0, probeFailures: 0, commands: 0, commandFailures: 0 },
      queued: 0,
      plugs: plugs.length,
    }
  }

  /**
   * Run one driver call in the device's queue. If the caller's signal has aborted by the time
   * the call reaches the head of the queue, the device is not touched. Transient errors are
   * retried (not for the device's own cycle: it is not idempotent).
   */
  async run<T>(
    what: string,
    fn: (signal: AbortSignal) => Promise<T>,
    opts: RunOptions & { retry?: boolean },
  ): Promise<StepOutcome<T>> {
    if (opts.signal.aborted) throw abortError(opts.signal)
    let ran = false
    this.health.queued++
    try {
      return await this.queue.add(
        async () => {
          ran = true
          this.health.queued--
          const started = monotonicNow()
          let tries = 0
          try {
            const value = await pRetry(
              async () => {
                if (opts.signal.aborted) throw abortError(opts.signal)
                tries++
                return await fn(opts.signal)
              },
              {
                retries: opts.retry === false ? 0 : this.settings.retries,
                minTimeout: 50,
                maxTimeout: 1000,
                factor: 2,
                randomize: true,
                signal: opts.signal,
                shouldRetry: ({ error }) => isTransient(error) && !opts.signal.aborted,
              },
            )
            return { value, tries, durationMs: monotonicNow() - started }
          } catch (e) {
            const err = opts.signal.aborted ? abortError(opts.signal) : toFenceError(e)
            if (!err.message.includes(this.id) && err.code !== 'DEADLINE_EXCEEDED' && err.code !== 'ABORTED')
              err.message = `${this.id}: ${what}: ${err.message}`
            Object.assign(err, { tries })
            throw err
          }
        },
        { priority: opts.priority, signal: opts.signal },
      )
    } catch (e) {
      if (ran) throw e
      // taken out of the queue before it ran (p-queue rejects for the aborted signal): no device touched
      this.health.queued--
      throw opts.signal.aborted ? abortError(opts.signal) : toFenceError(e)
    }
  }

  /** Issue on / off / cycle. Staggers `on` per device (inrush current). */
  async set(plug: string, action: DeviceAction, opts: RunOptions): Promise<StepOutcome<void>> {
    this.health.counts.commands++
    try {
      return await this.run(
        `${action} ${plug}`,
        async (signal) => {
          if (action === 'on') {
            const wait = this.lastOnAt + this.settings.onStaggerMs - monotonicNow()
            if (wait > 0) await sleep(wait, signal)
          }
          await this.driver.set(plug, action, { signal })
          if (action === 'on') this.lastOnAt = monotonicNow()
        },
        { ...opts, retry: action !== 'cycle' },
      )
    } catch (e) {
      this.health.counts.commandFailures++
      throw e
    }
  }

  async cancelPending(plugs: readonly string[], opts: RunOptions): Promise<StepOutcome<void> | undefined> {
    const cancel = this.driver.cancelPending?.bind(this.driver)
    if (!cancel) return undefined
    return this.run(`cancel pending ${plugs.join(',')}`, (signal) => cancel(plugs, { signal }), opts)
  }

  /**
   * Read plugs. Requests that arrive while a batch waits in the queue join it (one device
   * round for many plugs); a batch that has started is never joined, so a read-back asked
   * after a set is always issued after that set.
   */
  async status(plugs: readonly string[], opts: RunOptions): Promise<StepOutcome<Map<string, PowerState>>> {
    const started = monotonicNow()
    let batch = this.pending
    if (!batch) {
      const b: StatusBatch = {
        plugs: new Set(plugs),
        members: [],
        controller: new AbortController(),
        promise: Promise.resolve(new Map()),
      }
      // registered before run(): p-queue may start the job synchronously
      this.pending = batch = b
      b.promise = this.run(
        'status',
        (signal) => {
          if (this.pending === b) this.pending = undefined
          return this.driver.status([...b.plugs], { signal }).then((m) => {
            for (const [p, st] of m) this.onRead(p, st)
            return m
          })
        },
        { priority: opts.priority, signal: b.controller.signal },
      ).then((o) => o.value)
      b.promise.catch(() => {})
    }
    for (const p of plugs) batch.plugs.add(p)
    const b = batch
    b.members.push(opts.signal)
    opts.signal.addEventListener(
      'abort',
      () => {
        if (b.members.every((s) => s.aborted)) b.controller.abort(opts.signal.reason)
      },
      { once: true },
    )
    const all = await untilAborted(b.promise, opts.signal)
    const out = new Map<string, PowerState>()
    for (const p of plugs) out.set(p, all.get(p) ?? 'unknown')
    return { value: out, tries: 1, durationMs: monotonicNow() - started }
  }

  /** Active health (rule 9): a status read of every configured plug. */
  async probe(
    timeoutMs = this.settings.probeTimeoutMs,
    priority: Priority = PRIORITY.probe,
  ): Promise<DeviceHealth> {
    if (this.probing && priority === PRIORITY.probe) return this.health
    this.probing = true
    const signal = AbortSignal.timeout(timeoutMs)
    const at = new Date().toISOString()
    this.health.counts.probes++
    try {
      const r = await this.status(this.plugs.length ? this.plugs : [], { priority, signal })
      const unreadable = [...r.value].filter(([, s]) => s === 'unknown').map(([p]) => p)
      if (unreadable.length)
        throw new FenceError('PROTOCOL_ERROR', `${this.id}: plugs ${unreadable.join(',')} read unknown`)
      Object.assign(this.health, {
        state: 'ok',
        lastProbeAt: at,
        lastOkAt: at,
        latencyMs: Math.round(r.durationMs * 10) / 10,
      })
    } catch (e) {
      const err = signal.aborted
        ? new FenceError('DEVICE_TIMEOUT', `${this.id}: probe got no answer within ${timeoutMs}ms`)
        : toFenceError(e)
      this.health.counts.probeFailures++
      Object.assign(this.health, {
        state: 'failing',
        lastProbeAt: at,
        lastError: { code: err.code, message: err.message, at },
      })
    } finally {
      this.probing = false
    }
    return this.health
  }

  async close(): Promise<void> {
    this.queue.clear()
    await this.driver.close()
  }
}
