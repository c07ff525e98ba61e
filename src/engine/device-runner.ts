import PQueue from 'p-queue'
import pRetry from 'p-retry'
import type { PowerDriver } from '../../drivers/driver.js'
import { monotonicNow, sleep, untilAborted } from '../../core/deadline.js'
import { FenceError, abortError, isTransient, toFenceError } from '../../core/errors.js'
import type { DeviceAction, PowerState } from '../../core/types.js'
import type { EngineSettings } from '../config/config.js'
import { type Coordinator, EmbeddedCoordinator } from '../coordination/coordinator.js'
import type { DeviceHealth } from './types.js'

/** Queue priorities: fence work goes ahead of other queued work; probes last. */
export const PRIORITY = { fence: 10, operator: 5, probe: 0 } as const
export type Priority = (typeof PRIORITY)[keyof typeof PRIORITY]

export interface RunOptions {
  priority: Priority
  signal: AbortSignal
  /**
   * Called inside the device's slot, immediately before each try touches the device: throws to
   * refuse (a fence pre-empted this work, a hold began). The last word on a mutating step.
   */
  guard?: () => void | Promise<void>
  /**
   * Do not retry a device that gave no answer at all (DEVICE_TIMEOUT, DEVICE_UNREACHABLE): a fence
   * with another level left hands over to that level instead (retries are for garbled or busy answers).
   */
  noRetryDead?: boolean | (() => boolean)
  /** Told the promise that settles when this call has left the device (ran to its end, or never ran). */
  track?: (settled: Promise<void>) => void
  /**
   * Awaited inside the device's slot before the call's first try: the call keeps its place at the
   * head of the queue while what it waits for settles (a fence waiting for pre-empted commands).
   */
  barrier?: () => Promise<void>
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
  /** Some member wants a dead device given up on at once. */
  noRetryDead: boolean
  /** Promise that settles when the batch has left the device. */
  settled: Promise<void>
  /** Barriers of its members, awaited inside the slot before the read. */
  barriers: (() => Promise<void>)[]
}

/**
 * Non-fence calls a device may have waiting; past this a new one is refused (QUEUE_FULL).
 * Fence work is never refused by it, and goes ahead of all of it anyway.
 */
export const MAX_QUEUED_PER_DEVICE = 512

/** How long close() lets a driver call in flight settle before closing the driver under it. */
const CLOSE_WAIT_MS = 5000

const DEAD: ReadonlySet<string> = new Set(['DEVICE_TIMEOUT', 'DEVICE_UNREACHABLE'])

/**
 * One device: its driver behind a FIFO queue with one command in flight (rule 7), retries of
 * transient errors only, status batching, `on` staggering, and health counters. It knows no
 * fencing rule: the engine decides what to ask.
 *
 * One in flight means one *driver call* in flight: a call whose caller gave up (deadline,
 * disconnect) keeps the device's slot until the driver has settled it, so the next call never
 * overlaps it. The caller itself is answered at once.
 */
export class DeviceRunner {
  private readonly queue = new PQueue({ concurrency: 1 })
  /** Status batches still waiting for the device, one per priority (a fence never joins a probe's). */
  private readonly pending = new Map<Priority, StatusBatch>()
  /** When the last `on` was (or is booked to be) issued: staggering books its slot ahead. */
  private nextOnAt = Number.NEGATIVE_INFINITY
  /** When the last `on` completed. */
  private lastOnAt = Number.NEGATIVE_INFINITY
  private probing = false
  /** Non-fence calls waiting in the queue. */
  private waitingOthers = 0
  /** Replica mode: the lease signal whose loss already ends this device's sessions. */
  private watchedLease: AbortSignal | undefined
  readonly health: DeviceHealth

  constructor(
    readonly id: string,
    readonly driverKind: string,
    /** Replaced by a fresh one (reopen) when replica mode hands the device to another replica. */
    public driver: PowerDriver,
    private readonly settings: EngineSettings,
    /** Every configured plug of this device (probes read them all). */
    readonly plugs: readonly string[],
    readonly deviceCycle: boolean,
    /** Told every state this device reads (operations and probes alike), for the last-known view. */
    private readonly onRead: (plug: string, state: PowerState) => void = () => {},
    /**
     * Replica mode: the device's lock across replicas, taken before every device round (lease
     * alive, else COORDINATION_UNAVAILABLE) and let go when this replica's queue for it is idle
     * or another replica waits. Default: one gateway, nothing to ask.
     */
    private readonly coordinator: Coordinator = new EmbeddedCoordinator(),
    /** A new driver for the device; the old one is closed (its sessions ended) before the lock goes. */
    private readonly reopen?: () => PowerDriver,
  ) {
    this.health = {
      id,
      driver: driverKind,
      state: 'unknown',
      counts: { probes: 0, probeFailures: 0, commands: 0, commandFailures: 0 },
      queued: 0,
      plugs: plugs.length,
      verifies: true,
    }
  }

  /**
   * Run one driver call in the device's queue. If the caller's signal has aborted by the time
   * the call reaches the head of the queue, the device is not touched (and a queued call is taken
   * out of the queue at once). Transient errors are retried (not for the device's own cycle: it
   * is not idempotent). The caller is answered when its signal aborts; the slot is held until
   * the driver call has settled.
   */
  async run<T>(
    what: string,
    fn: (signal: AbortSignal) => Promise<T>,
    opts: RunOptions & { retry?: boolean },
  ): Promise<StepOutcome<T>> {
    if (opts.signal.aborted) throw abortError(opts.signal)
    const other = opts.priority !== PRIORITY.fence
    if (other && this.waitingOthers >= MAX_QUEUED_PER_DEVICE)
      throw new FenceError(
        'QUEUE_FULL',
        `${this.id}: ${this.waitingOthers} calls are already waiting for this device (limit ${MAX_QUEUED_PER_DEVICE})`,
      )
    let started = false
    // aborts the queued job only: once it runs, p-queue must not free the slot before the call settles
    const unqueue = new AbortController()
    const onAbort = () => {
      if (!started) unqueue.abort(opts.signal.reason)
    }
    opts.signal.addEventListener('abort', onAbort, { once: true })
    this.health.queued++
    if (other) this.waitingOthers++
    const leaveQueue = () => {
      this.health.queued--
      if (other) this.waitingOthers--
    }
    const job = this.queue.add(
      async () => {
        started = true
        leaveQueue()
        const started_ = monotonicNow()
        let tries = 0
        try {
          if (opts.barrier) await untilAborted(opts.barrier(), opts.signal)
          const value = await pRetry(
            async () => {
              if (opts.signal.aborted) throw abortError(opts.signal)
              // replica mode: this replica holds the device's lock and its lease is alive
              const lease = await this.coordinator.acquire(this.id, opts.signal)
              if (lease && lease !== this.watchedLease) {
                // the lease of this lock: when it is lost, end our sessions in the slot (after the call in flight)
                this.watchedLease = lease
                lease.addEventListener(
                  'abort',
                  () => void this.queue.add(() => this.endSessions(), { priority: 100 }).catch(() => {}),
                  { once: true },
                )
              }
              try {
                // replica mode adds an etcd read to the guard (a fence on another replica); one gateway: sync
                const checking = opts.guard?.()
                if (checking) await checking
                tries++
                if (!lease) return await fn(opts.signal)
                // a lost lease aborts the call; the slot (and so the sessions) stay until it settles
                try {
                  return await fn(AbortSignal.any([opts.signal, lease]))
                } catch (e) {
                  if (lease.aborted && !opts.signal.aborted) throw abortError(lease)
                  throw e
                }
              } finally {
                if (lease)
                  await this.coordinator.release(this.id, this.queue.size === 0, () => this.endSessions())
              }
            },
            {
              retries: opts.retry === false ? 0 : this.settings.retries,
              minTimeout: 50,
              maxTimeout: 1000,
              factor: 2,
              randomize: true,
              signal: opts.signal,
              shouldRetry: ({ error }) => {
                if (!isTransient(error) || opts.signal.aborted) return false
                const noDead = typeof opts.noRetryDead === 'function' ? opts.noRetryDead() : opts.noRetryDead
                return !(noDead && DEAD.has((error as FenceError).code))
              },
            },
          )
          return { value, tries, durationMs: monotonicNow() - started_ }
        } catch (e) {
          const err = opts.signal.aborted ? abortError(opts.signal) : toFenceError(e)
          if (!err.message.includes(this.id) && err.code !== 'DEADLINE_EXCEEDED' && err.code !== 'ABORTED')
            err.message = `${this.id}: ${what}: ${err.message}`
          Object.assign(err, { tries })
          throw err
        } finally {
          // a round kept the lock for calls queued behind it; they may have gone without a round
          await this.releaseIfIdle()
        }
      },
      { priority: opts.priority, signal: unqueue.signal },
    )
    const settled = job.then(
      () => {},
      () => {
        // taken out of the queue before it ran (p-queue rejects for the aborted signal): no device
        // touched; if the lock was kept for it, it goes once the slot is free
        if (started) return
        leaveQueue()
        if (this.coordinator.holds(this.id))
          void this.queue.add(() => this.releaseIfIdle(), { priority: PRIORITY.probe - 1 }).catch(() => {})
      },
    )
    opts.track?.(settled)
    try {
      return await untilAborted(job, opts.signal)
    } catch (e) {
      throw opts.signal.aborted ? abortError(opts.signal) : toFenceError(e)
    } finally {
      opts.signal.removeEventListener('abort', onAbort)
    }
  }

  /**
   * Issue on / off / cycle. Staggers `on` per device (inrush current): the wait is booked before
   * the call takes the device's slot, so a fence never waits behind an `on` that is only pausing;
   * inside the slot only what is left of the gap since the last `on` completed is waited.
   */
  async set(plug: string, action: DeviceAction, opts: RunOptions): Promise<StepOutcome<void>> {
    // the one place the device's own cycle is refused, for every driver kind alike: before the
    // slot, the count or a byte to the device (fencing never asks for it; fencing-rules.ts)
    if (action === 'cycle' && !this.deviceCycle)
      throw new FenceError(
        'UNSUPPORTED_ACTION',
        `${this.id}: the device's own cycle is not enabled (deviceCycle: true); fencing never uses it`,
      )
    this.health.counts.commands++
    try {
      if (action === 'on') {
        const at = Math.max(monotonicNow(), this.nextOnAt + this.settings.onStaggerMs)
        this.nextOnAt = at
        const wait = at - monotonicNow()
        if (wait > 0) await sleep(wait, opts.signal)
      }
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
    if (!this.driver.cancelPending) return undefined
    // the driver of the moment the call runs (replica mode may have replaced it meanwhile)
    return this.run(
      `cancel pending ${plugs.join(',')}`,
      (signal) => this.driver.cancelPending!(plugs, { signal }),
      opts,
    )
  }

  /**
   * Read plugs. Requests that arrive while a batch of the same priority waits in the queue join
   * it (one device round for many plugs); a batch that has started is never joined, so a
   * read-back asked after a set is always issued after that set; a batch whose requesters have
   * all gone is never joined (it will not run) and is forgotten when it settles.
   */
  async status(plugs: readonly string[], opts: RunOptions): Promise<StepOutcome<Map<string, PowerState>>> {
    if (opts.signal.aborted) throw abortError(opts.signal)
    const started = monotonicNow()
    let batch = this.pending.get(opts.priority)
    if (!batch || batch.controller.signal.aborted) {
      const b: StatusBatch = {
        plugs: new Set(plugs),
        members: [],
        controller: new AbortController(),
        promise: Promise.resolve(new Map()),
        noRetryDead: false,
        settled: Promise.resolve(),
        barriers: [],
      }
      // registered before run(): p-queue may start the job synchronously
      this.pending.set(opts.priority, b)
      batch = b
      const forget = () => {
        if (this.pending.get(opts.priority) === b) this.pending.delete(opts.priority)
      }
      b.promise = this.run(
        'status',
        (signal) => {
          forget()
          return this.driver.status([...b.plugs], { signal }).then((m) => {
            for (const [p, st] of m) this.onRead(p, st)
            return m
          })
        },
        {
          priority: opts.priority,
          signal: b.controller.signal,
          noRetryDead: () => b.noRetryDead,
          track: (s) => {
            b.settled = s
          },
          // every member's barrier, including those of members that join while the batch waits
          barrier: () => Promise.all(b.barriers.map((f) => f())).then(() => {}),
        },
      ).then((o) => o.value)
      b.promise.catch(() => {}).finally(forget)
    }
    for (const p of plugs) batch.plugs.add(p)
    const b = batch
    if (opts.noRetryDead) b.noRetryDead = true
    if (opts.barrier) b.barriers.push(opts.barrier)
    opts.track?.(b.settled)
    b.members.push(opts.signal)
    const onAbort = () => {
      if (b.members.every((s) => s.aborted)) b.controller.abort(opts.signal.reason)
    }
    opts.signal.addEventListener('abort', onAbort, { once: true })
    try {
      const all = await untilAborted(b.promise, opts.signal)
      const out = new Map<string, PowerState>()
      for (const p of plugs) out.set(p, all.get(p) ?? 'unknown')
      return { value: out, tries: 1, durationMs: monotonicNow() - started }
    } finally {
      opts.signal.removeEventListener('abort', onAbort)
    }
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
      // an unverified device reads every plug unknown: that it answered is all a probe can learn
      const unreadable = [...r.value].filter(([, s]) => s === 'unknown').map(([p]) => p)
      if (unreadable.length && this.health.verifies)
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

  /**
   * Inside the slot: nothing waits for the device here, so a lock this replica still holds goes
   * (the round that kept it saw calls waiting that then ended without a round of their own).
   */
  private async releaseIfIdle(): Promise<void> {
    if (this.queue.size === 0 && this.coordinator.holds(this.id))
      await this.coordinator.release(this.id, true, () => this.endSessions()).catch(() => {})
  }

  /** Replica mode, inside the slot, before the device's lock goes to another replica. */
  private async endSessions(): Promise<void> {
    if (!this.reopen) return
    const old = this.driver
    this.driver = this.reopen()
    await old.close()
  }

  /** Drop queued calls, let the one in flight settle (bounded), close the driver. */
  async close(): Promise<void> {
    this.queue.clear()
    await untilAborted(this.queue.onIdle(), AbortSignal.timeout(CLOSE_WAIT_MS)).catch(() => {})
    await this.driver.close()
  }
}
