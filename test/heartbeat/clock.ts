import type { Clock } from '../../src/heartbeat/fence-policy.js'
import type { Control } from '../../src/heartbeat/message.js'

/** A clock the test moves by hand: timers fire in order as time passes. */
export class ManualClock implements Clock {
  t = 1000
  private timers: { at: number; fn: () => void; id: number }[] = []
  private next = 0

  now = (): number => this.t

  setTimeout = (fn: () => void, ms: number): (() => void) => {
    const id = this.next++
    this.timers.push({ at: this.t + ms, fn, id })
    return () => {
      this.timers = this.timers.filter((x) => x.id !== id)
    }
  }

  advance(ms: number, step?: (t: number) => void): void {
    const end = this.t + ms
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.id - b.id)
      const first = this.timers[0]
      if (!first || first.at > end) break
      this.timers.shift()
      this.t = first.at
      step?.(this.t)
      first.fn()
    }
    this.t = end
    step?.(this.t)
  }
}

export function status(src: string, seq: number, gen = 7, extra: Partial<Control> = {}): Control {
  return { type: 'status', src, generation: gen, seq, st: 'up', ...extra }
}
