import { sleep } from '../core/deadline.js'
import { FenceError, toFenceError } from '../core/errors.js'
import type { NodeAction } from '../core/types.js'
import { plugKey } from '../core/types.js'
import { allOff, nodeState } from './node-state.js'
import { type Ctx, type PlugSteps, uniqueRefs } from './plug-steps.js'
import type { NodeResult } from './types.js'

/**
 * The fencing rules of design.md, as procedures over plug steps: what off, on, reboot and
 * cycle mean for a node with several plugs and several levels. Nothing else decides it.
 */
export class FencingRules {
  constructor(
    private readonly steps: PlugSteps,
    /** May this device's own cycle serve an operator's cycle (config deviceCycle)? */
    private readonly deviceCycle: (device: string) => boolean,
  ) {}

  async act(ctx: Ctx, action: NodeAction, fence: boolean): Promise<Partial<NodeResult>> {
    switch (action) {
      case 'off': {
        const r = await this.off(ctx)
        return { state: 'off', level: r.level, ...(r.already ? { already: true } : {}) }
      }
      case 'on': {
        const already = await this.on(ctx)
        return { state: 'on', ...(already ? { already: true } : {}) }
      }
      case 'reboot':
        return this.reboot(ctx)
      case 'cycle':
        if (fence) throw new FenceError('UNSUPPORTED_ACTION', 'fencing never cycles (rule 2)')
        return this.cycle(ctx)
    }
  }

  /**
   * Rules 1–4: per level, cancel pending device commands, read, hard off every plug not read
   * off, then read back until every plug of the level reads off. A level that fails hands over
   * to the next; each level gets a fair share of the time left, the last one all of it.
   */
  private async off(ctx: Ctx): Promise<{ level: number; already: boolean }> {
    const { levels } = ctx.node
    const failures: string[] = []
    let last: FenceError | undefined
    for (let i = 0; i < levels.length; i++) {
      ctx.deadline.check()
      const level = levels[i]!
      const share =
        i === levels.length - 1
          ? undefined
          : ctx.deadline.child(ctx.deadline.remaining() / (levels.length - i))
      const signal = share?.signal ?? ctx.deadline.signal
      // a dead device is not retried while another level can take over (retries are for garbled answers)
      ctx.noRetryDead = i < levels.length - 1
      try {
        await this.steps.cancelPending(level, i + 1, ctx, signal)
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
    const code = last?.code ?? 'DEADLINE_EXCEEDED'
    throw new FenceError(
      code,
      failures.length > 1 ? failures.join('; ') : (last?.message ?? 'no level was tried'),
    )
  }

  /** Every plug of every level on, the last level first (a PDU feeds the BMC of level 1). */
  private async on(ctx: Ctx): Promise<boolean> {
    const { levels } = ctx.node
    let already = true
    const seen = new Set<string>()
    for (let i = levels.length - 1; i >= 0; i--) {
      const level = levels[i]!.filter((r) => !seen.has(plugKey(r)))
      for (const r of level) seen.add(plugKey(r))
      if (!level.length) continue
      const signal = ctx.deadline.signal
      const states = await this.steps.readLevel(level, i + 1, ctx, signal)
      const todo = level.filter((r) => states.get(plugKey(r)) !== 'on')
      if (!todo.length) continue
      already = false
      ctx.deadline.check()
      await this.steps.switch(todo, 'on', i + 1, ctx, signal)
      await this.steps.readBackUntil(level, 'on', i + 1, ctx, signal)
    }
    return already
  }

  /** Reboot (fence or operator): verified off, powerWait, on. Success is the off (rule 3). */
  private async reboot(ctx: Ctx): Promise<Partial<NodeResult>> {
    const off = await this.off(ctx)
    const result: Partial<NodeResult> = { level: off.level, state: 'off' }
    try {
      await sleep(ctx.node.powerWaitMs, ctx.deadline.signal)
      await this.on(ctx)
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
    const first = levels[0]!
    if (state === 'on' && first.length === 1 && this.deviceCycle(first[0]!.device)) {
      await this.steps.switch(first, 'cycle', 1, ctx, ctx.deadline.signal)
      await this.steps.readBackUntil(first, 'on', 1, ctx, ctx.deadline.signal)
      return { state: 'on', level: 1, onVerified: true }
    }
    const r = await this.reboot(ctx)
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
