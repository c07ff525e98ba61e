import type { Journal } from '../audit/journal.js'
import type { EngineSettings, NodeConfig } from '../config/config.js'
import { type Deadline, monotonicNow, sleep } from '../../core/deadline.js'
import { FenceError, abortError, toFenceError } from '../../core/errors.js'
import type { PlugRef, PowerState } from '../../core/types.js'
import { plugKey } from '../../core/types.js'
import type { DeviceRunner, Priority, RunOptions } from './device-runner.js'
import { allOff, allOn, nodeState } from './node-state.js'
import type { Attempt } from './types.js'

/** What one node's work needs: its config, the deadline, where attempts go. */
export interface Ctx {
  node: NodeConfig
  op: string
  deadline: Deadline
  priority: Priority
  attempts: Attempt[]
  /** Plugs whose set was issued and not read back since (an aborted set leaves them unknown). */
  states: Map<string, PowerState>
  /**
   * Re-checked inside the device's slot immediately before every mutating step touches a device
   * (non-fence work: a fence of the node pre-empts it; a hold refuses `on`). Throws to refuse.
   */
  guard?: (action: 'on' | 'off' | 'cycle') => void | Promise<void>
  /** A dead device is given up on at once: another fencing level is left to try. */
  noRetryDead?: boolean
  /** Every mutating device call this work makes, settled when the call has left the device (for pre-emption). */
  track?: (settled: Promise<void>) => void
  /**
   * A fence's wait for the commands it pre-empted: every device call of the fence awaits it inside
   * the device's slot, so the fence holds its place at the head of each queue meanwhile.
   */
  barrier?: Promise<void>
}

/**
 * The queue options of one step of this work. Only mutating steps are tracked (pre-emption waits
 * for them); every step waits for the work's barrier inside the device's slot.
 */
function runOpts(ctx: Ctx, signal: AbortSignal, mutating: boolean): RunOptions {
  const barrier = ctx.barrier
  return {
    priority: ctx.priority,
    signal,
    ...(ctx.noRetryDead ? { noRetryDead: true } : {}),
    ...(mutating && ctx.track ? { track: ctx.track } : {}),
    ...(barrier ? { barrier: () => barrier } : {}),
  }
}

/**
 * The steps the fencing rules are made of, against plugs: cancel pending commands, read, switch,
 * read back until. Each records its attempts in the node's context and keeps the last-known
 * states honest (a plug whose command was issued is unknown until read back).
 */
export class PlugSteps {
  constructor(
    private readonly runners: ReadonlyMap<string, DeviceRunner>,
    private readonly journal: Journal,
    private readonly known: Map<string, PowerState>,
    private readonly settings: EngineSettings,
  ) {}

  stateOf(ctx: Ctx): PowerState {
    return nodeState(ctx.node.levels, (r) => ctx.states.get(plugKey(r)) ?? 'unknown')
  }

  async cancelPending(level: readonly PlugRef[], lv: number, ctx: Ctx, signal: AbortSignal): Promise<void> {
    await Promise.all(
      [...groupByDevice(level)].map(async ([device, plugs]) => {
        const runner = this.runners.get(device)!
        if (!runner.driver.cancelPending) return
        const started = monotonicNow()
        try {
          const o = await runner.cancelPending(plugs, runOpts(ctx, signal, true))
          for (const plug of plugs)
            ctx.attempts.push({
              level: lv,
              device,
              plug,
              step: 'cancel',
              outcome: 'ok',
              tries: o?.tries ?? 1,
              durationMs: o?.durationMs ?? 0,
            })
        } catch (e) {
          const err = toFenceError(e)
          for (const plug of plugs) ctx.attempts.push(failedAttempt(lv, device, plug, 'cancel', err, started))
          throw err
        }
      }),
    )
  }

  /** Read plugs now (one batched round per device); record one `status` attempt per plug. */
  async readLevel(
    refs: readonly PlugRef[],
    lv: number,
    ctx: Ctx,
    signal: AbortSignal,
  ): Promise<Map<string, PowerState>> {
    const started = monotonicNow()
    const errors = new Map<string, FenceError>()
    const states = await this.read(refs, runOpts(ctx, signal, false), errors)
    for (const r of refs) {
      const k = plugKey(r)
      ctx.states.set(k, states.get(k) ?? 'unknown')
      const err = errors.get(k)
      if (err) ctx.attempts.push(failedAttempt(lv, r.device, r.plug, 'status', err, started))
      else
        ctx.attempts.push({
          level: lv,
          device: r.device,
          plug: r.plug,
          step: 'status',
          outcome: 'ok',
          state: states.get(k)!,
          tries: 1,
          durationMs: monotonicNow() - started,
        })
    }
    const firstErr = errors.values().next().value
    if (firstErr && signal.aborted) throw firstErr
    if (firstErr && errors.size === refs.length) throw firstErr
    return states
  }

  /**
   * Batched reads across devices; failures become `unknown` and are reported in `errors`.
   * Never throws. (The last-known view is fed by the device runners, probes included.)
   */
  async read(
    refs: readonly PlugRef[],
    run: RunOptions,
    errors: Map<string, FenceError>,
  ): Promise<Map<string, PowerState>> {
    const out = new Map<string, PowerState>()
    await Promise.all(
      [...groupByDevice(refs)].map(async ([device, plugs]) => {
        try {
          const o = await this.runners.get(device)!.status(plugs, run)
          for (const [p, s] of o.value) out.set(`${device}:${p}`, s)
        } catch (e) {
          const err = toFenceError(e)
          for (const p of plugs) {
            out.set(`${device}:${p}`, 'unknown')
            errors.set(`${device}:${p}`, err)
          }
        }
      }),
    )
    return out
  }

  /** Issue a command to each plug (devices in parallel, FIFO within a device); throw the first failure after all. */
  async switch(
    refs: readonly PlugRef[],
    action: 'on' | 'off' | 'cycle',
    lv: number,
    ctx: Ctx,
    signal: AbortSignal,
  ): Promise<void> {
    const errors: FenceError[] = []
    await Promise.all(
      refs.map(async (r) => {
        const k = plugKey(r)
        const started = monotonicNow()
        try {
          if (signal.aborted) throw abortError(signal)
          ctx.deadline.check() // past the deadline no mutating step is issued (rule 6)
          // from here until read back, the plug's state is unknown
          this.known.set(k, 'unknown')
          ctx.states.set(k, 'unknown')
          void this.journal
            .append(
              {
                t: 'step',
                op: ctx.op,
                ts: new Date().toISOString(),
                node: ctx.node.name,
                level: lv,
                device: r.device,
                plug: r.plug,
                step: action,
                outcome: 'issued',
              },
              false,
            )
            .catch(() => {})
          const guard = ctx.guard
          const o = await this.runners.get(r.device)!.set(r.plug, action, {
            ...runOpts(ctx, signal, true),
            ...(guard ? { guard: () => guard(action) } : {}),
          })
          ctx.attempts.push({
            level: lv,
            device: r.device,
            plug: r.plug,
            step: action,
            outcome: 'ok',
            tries: o.tries,
            durationMs: o.durationMs,
          })
        } catch (e) {
          const err = toFenceError(e)
          ctx.attempts.push(failedAttempt(lv, r.device, r.plug, action, err, started))
          errors.push(err)
        }
      }),
    )
    if (errors.length) throw errors[0]
  }

  /**
   * Read back until every plug reads `want` (rule 1): polls issued after the sets completed.
   * A read cut off by the deadline never replaces the last good read: the failure says what the
   * plugs last read (a stuck relay still reads on; a silent device has no read at all).
   */
  async readBackUntil(
    refs: readonly PlugRef[],
    want: 'on' | 'off',
    lv: number,
    ctx: Ctx,
    signal: AbortSignal,
  ): Promise<void> {
    let interval = this.settings.verifyPollMs
    let polls = 0
    const started = monotonicNow()
    /** The last on/off each plug read after the set. */
    const lastGood = new Map<string, PowerState>()
    let lastError: FenceError | undefined
    const last = (r: PlugRef): PowerState => lastGood.get(plugKey(r)) ?? 'unknown'
    for (;;) {
      polls++
      const errors = new Map<string, FenceError>()
      const states = await this.read(refs, runOpts(ctx, signal, false), errors)
      const cut = signal.aborted
      if (!cut) lastError = errors.values().next().value ?? lastError
      for (const r of refs) {
        const k = plugKey(r)
        const st = states.get(k) ?? 'unknown'
        // a read the deadline cut off tells nothing: keep what the plug last read
        if (cut && errors.has(k)) continue
        if (st === 'unknown') lastGood.delete(k)
        else lastGood.set(k, st)
        ctx.states.set(k, st)
      }
      const ok = !cut && (want === 'off' ? allOff(refs, last) : allOn(refs, last))
      if (ok || signal.aborted) {
        for (const r of refs)
          ctx.attempts.push({
            level: lv,
            device: r.device,
            plug: r.plug,
            step: 'verify',
            outcome: last(r) === want && ok ? 'ok' : 'failed',
            state: last(r),
            tries: polls,
            durationMs: monotonicNow() - started,
            ...(last(r) === want && ok
              ? {}
              : {
                  code: 'VERIFY_FAILED' as const,
                  message:
                    last(r) === 'unknown'
                      ? `no read, wanted ${want}`
                      : `still read ${last(r)}, wanted ${want}`,
                }),
          })
        if (ok) return
        const wrong = refs
          .filter((r) => last(r) !== want)
          .map((r) => {
            const k = plugKey(r)
            return last(r) === 'unknown' ? `${k} gave no read` : `${k} still read ${last(r)}`
          })
        const why = `${wrong.join(', ')} after ${polls} read-backs${lastError ? `; last error: ${lastError.message}` : ''}`
        // the deadline (or the caller) ended the wait: say so, with what the plugs read
        const cause = abortError(signal)
        throw new FenceError(
          cause.code,
          cause.code === 'DEADLINE_EXCEEDED'
            ? `timed out waiting for ${want}: ${why}`
            : `${cause.message} while waiting for ${want}: ${why}`,
        )
      }
      try {
        await sleep(interval, signal)
      } catch {
        // deadline: one more pass records the attempts and throws
      }
      interval = Math.min(interval * 2, 1000)
    }
  }
}

export function uniqueRefs(refs: readonly PlugRef[]): PlugRef[] {
  const seen = new Map<string, PlugRef>()
  for (const r of refs) seen.set(plugKey(r), r)
  return [...seen.values()]
}

export function groupByDevice(refs: readonly PlugRef[]): Map<string, string[]> {
  const m = new Map<string, string[]>()
  for (const r of refs) {
    const list = m.get(r.device) ?? []
    if (!list.includes(r.plug)) list.push(r.plug)
    m.set(r.device, list)
  }
  return m
}

export function failedAttempt(
  level: number,
  device: string,
  plug: string,
  step: Attempt['step'],
  err: FenceError,
  started: number,
): Attempt {
  return {
    level,
    device,
    plug,
    step,
    outcome: 'failed',
    code: err.code,
    message: err.message,
    tries: (err as { tries?: number }).tries ?? 1,
    durationMs: monotonicNow() - started,
  }
}
