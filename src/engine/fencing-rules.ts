import { sleep } from '../../core/deadline.js'
import { FenceError, toFenceError } from '../../core/errors.js'
import type { NodeAction, PlugRef } from '../../core/types.js'
import { plugKey } from '../../core/types.js'
import { allOff, nodeState } from './node-state.js'
import { type Ctx, type PlugSteps, uniqueRefs } from './plug-steps.js'
import type { Confirmation, NodeResult } from './types.js'

/** How one level's off ended. */
interface OffResult {
  level: number
  already: boolean
  /** Sent to a device that cannot read back: nothing is known (operator power only). */
  unverified?: boolean
  /** The manual level: a person confirmed the node off. */
  confirmation?: Confirmation
}

/** What the rules need from the engine beyond plug steps. */
export interface RuleHooks {
  /** May this device's own cycle serve an operator's cycle (config deviceCycle)? */
  deviceCycle(device: string): boolean
  /** Can this device read its outlets back? (false: an unverified device) */
  verifies(device: string): boolean
  /** The manual level: wait, within the deadline, for a person to confirm the node off. */
  awaitConfirmation(ctx: Ctx, level: number): Promise<Confirmation>
}

/**
 * The fencing rules of design.md, as procedures over plug steps: what off, on, reboot and
 * cycle mean for a node with several plugs and several levels. Nothing else decides it.
 */
export class FencingRules {
  constructor(
    private readonly steps: PlugSteps,
    private readonly hooks: RuleHooks,
  ) {}

  async act(ctx: Ctx, action: NodeAction, fence: boolean): Promise<Partial<NodeResult>> {
    switch (action) {
      case 'off':
        return offResult(await this.off(ctx, fence))
      case 'on': {
        const r = await this.on(ctx)
        if (r.unverified) return { outcome: 'unverified', state: 'unknown' }
        return { state: 'on', ...(r.already ? { already: true } : {}) }
      }
      case 'reboot':
        return this.reboot(ctx, fence)
      case 'cycle':
        if (fence) throw new FenceError('UNSUPPORTED_ACTION', 'fencing never cycles (rule 2)')
        return this.cycle(ctx)
    }
  }

  /** Plugs of a level that can be read back (all of them, but on an unverified device). */
  private readable(level: readonly PlugRef[]): PlugRef[] {
    return level.filter((r) => this.hooks.verifies(r.device))
  }

  /**
   * Rules 1–4: per level, cancel pending device commands, read, hard off every plug not read
   * off, then read back until every plug of the level reads off. A level that fails hands over
   * to the next; each level gets a fair share of the time left, the last one all of it. A fence
   * whose node ends in a manual level then waits for a person's confirmation.
   */
  private async off(ctx: Ctx, fence: boolean): Promise<OffResult> {
    const { levels } = ctx.node
    const manual = fence && ctx.node.manual === true
    const total = levels.length + (manual ? 1 : 0)
    const failures: string[] = []
    let last: FenceError | undefined
    for (let i = 0; i < levels.length; i++) {
      ctx.deadline.check()
      const level = levels[i]!
      const share = i === total - 1 ? undefined : ctx.deadline.child(ctx.deadline.remaining() / (total - i))
      const signal = share?.signal ?? ctx.deadline.signal
      // a dead device is not retried while another level can take over (retries are for garbled answers)
      ctx.noRetryDead = i < total - 1
      try {
        await this.steps.cancelPending(level, i + 1, ctx, signal)
        const readable = this.readable(level)
        if (readable.length < level.length) {
          // an unverified device (operator power only: config refuses it as a fencing level)
          if (fence) throw new FenceError('UNSUPPORTED_ACTION', 'an unverified device cannot fence')
          await this.steps.switch(level, 'off', i + 1, ctx, signal)
          if (readable.length) await this.steps.readBackUntil(readable, 'off', i + 1, ctx, signal)
          return { level: i + 1, already: false, unverified: true }
        }
        const states = await this.steps.readLevel(level, i + 1, ctx, signal)
        if (allOff(level, (r) => states.get(plugKey(r)) ?? 'unknown')) return { level: i + 1, already: true }
        await this.steps.switch(
          level.filter((r) => states.get(plugKey(r)) !== 'off'),
          'off',
          i + 1,
          ctx,
          signal,
        )
        await this.steps.readBackUntil(level, 'off', i + 1, ctx, signal)
        return { level: i + 1, already: false }
      } catch (e) {
        last = toFenceError(e)
        failures.push(`level ${i + 1}: ${last.message}`)
        if (ctx.deadline.expired) break
      } finally {
        share?.dispose()
        ctx.noRetryDead = false
      }
    }
    if (manual && !ctx.deadline.expired) {
      // every device failed (or there is none): a person may confirm the node off
      const confirmation = await this.hooks.awaitConfirmation(ctx, total)
      return { level: total, already: false, confirmation }
    }
    const code = last?.code ?? 'DEADLINE_EXCEEDED'
    throw new FenceError(
      code,
      failures.length > 1 ? failures.join('; ') : (last?.message ?? 'no level was tried'),
    )
  }

  /** Every plug of every level on, the last level first (a PDU feeds the BMC of level 1). */
  private async on(ctx: Ctx): Promise<{ already: boolean; unverified: boolean }> {
    const { levels } = ctx.node
    let already = true
    let unverified = false
    const seen = new Set<string>()
    for (let i = levels.length - 1; i >= 0; i--) {
      const level = levels[i]!.filter((r) => !seen.has(plugKey(r)))
      for (const r of level) seen.add(plugKey(r))
      if (!level.length) continue
      const signal = ctx.deadline.signal
      const readable = this.readable(level)
      if (readable.length < level.length) {
        // sent, never known: an unverified device cannot say it worked
        unverified = true
        already = false
        ctx.deadline.check()
        await this.steps.switch(level, 'on', i + 1, ctx, signal)
        if (readable.length) await this.steps.readBackUntil(readable, 'on', i + 1, ctx, signal)
        continue
      }
      const states = await this.steps.readLevel(level, i + 1, ctx, signal)
      const todo = level.filter((r) => states.get(plugKey(r)) !== 'on')
      if (!todo.length) continue
      already = false
      ctx.deadline.check()
      await this.steps.switch(todo, 'on', i + 1, ctx, signal)
      await this.steps.readBackUntil(level, 'on', i + 1, ctx, signal)
    }
    return { already, unverified }
  }

  /** Reboot (fence or operator): verified off, powerWait, on. Success is the off (rule 3). */
  private async reboot(ctx: Ctx, fence: boolean): Promise<Partial<NodeResult>> {
    const off = await this.off(ctx, fence)
    const result = offResult(off)
    try {
      await sleep(ctx.node.powerWaitMs, ctx.deadline.signal)
      const on = await this.on(ctx)
      if (off.unverified || on.unverified)
        return { ...result, outcome: 'unverified', state: 'unknown', onVerified: false }
      return { ...result, state: 'on', onVerified: true }
    } catch (e) {
      const err = toFenceError(e)
      return {
        ...result,
        state: this.steps.stateOf(ctx),
        onVerified: false,
        onError: { code: err.code, message: err.message },
      }
    }
  }

  /**
   * An operator's cycle: a node that is off is powered on (rule 5); the device's own cycle only
   * where the config allows it and level 1 is a single plug (on two supplies, each would cycle in
   * turn and the node never lose power: rule 2); otherwise off, verify, wait, on.
   */
  private async cycle(ctx: Ctx): Promise<Partial<NodeResult>> {
    const levels = ctx.node.levels
    const all = uniqueRefs(levels.flat())
    const states = await this.steps.readLevel(all, 0, ctx, ctx.deadline.signal)
    const state = nodeState(levels, (r) => states.get(plugKey(r)) ?? 'unknown')
    if (state === 'off') {
      await this.on(ctx)
      return { state: 'on', onVerified: true }
    }
    if (this.readable(all).length < all.length) return this.reboot(ctx, false)
    const first = levels[0]!
    if (state === 'on' && first.length === 1 && this.hooks.deviceCycle(first[0]!.device)) {
      await this.steps.switch(first, 'cycle', 1, ctx, ctx.deadline.signal)
      await this.steps.readBackUntil(first, 'on', 1, ctx, ctx.deadline.signal)
      return { state: 'on', level: 1, onVerified: true }
    }
    const r = await this.reboot(ctx, false)
    if (r.outcome === 'unverified') return r
    if (!r.onVerified) {
      const err = new FenceError(
        r.onError?.code ?? 'VERIFY_FAILED',
        `off verified, power-on failed: ${r.onError?.message ?? ''}`,
      )
      throw Object.assign(err, { partial: r })
    }
    return r
  }
}

/** The result fields of an off (fence, off, the off half of a reboot). */
function offResult(r: OffResult): Partial<NodeResult> {
  if (r.confirmation)
    return {
      outcome: 'confirmed-by-operator',
      state: 'unknown',
      level: r.level,
      confirmation: r.confirmation,
    }
  if (r.unverified) return { outcome: 'unverified', state: 'unknown', level: r.level }
  return { state: 'off', level: r.level, ...(r.already ? { already: true } : {}) }
}
