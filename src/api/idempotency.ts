/**
 * Idempotency-Key store (one per app): a retry of a mutating POST with the same key and the
 * same token gets the first operation instead of acting twice. Bounded in time (24 h) and in
 * size (oldest dropped first); keys of requests that created no operation (refused with a
 * 4xx) are forgotten, so such a retry is judged afresh.
 */
import type { Operation } from '../engine/types.js'

export interface IdempotentEntry {
  /** Method, route, params and body of the first request: a key reused for another request is refused. */
  fingerprint: string
  /** Resolves when the operation exists (it may still be running). */
  started: Promise<Operation>
  /** Resolves when the operation has finished. */
  done: Promise<Operation>
  at: number
}

export interface IdempotencyOptions {
  ttlMs?: number
  max?: number
  now?: () => number
}

export class IdempotencyStore {
  private readonly entries = new Map<string, IdempotentEntry>()
  private readonly ttlMs: number
  private readonly max: number
  private readonly now: () => number

  constructor(opts: IdempotencyOptions = {}) {
    this.ttlMs = opts.ttlMs ?? 24 * 3600_000
    this.max = opts.max ?? 10_000
    this.now = opts.now ?? Date.now
  }

  private static id(scope: string, key: string): string {
    return `${scope}\u0000${key}`
  }

  get(scope: string, key: string): IdempotentEntry | undefined {
    const id = IdempotencyStore.id(scope, key)
    const e = this.entries.get(id)
    if (e && this.now() - e.at > this.ttlMs) {
      this.entries.delete(id)
      return undefined
    }
    return e
  }

  set(scope: string, key: string, entry: IdempotentEntry): void {
    this.prune()
    this.entries.set(IdempotencyStore.id(scope, key), entry)
  }

  /** Forget the key, if it still holds this entry. */
  delete(scope: string, key: string, entry: IdempotentEntry): void {
    const id = IdempotencyStore.id(scope, key)
    if (this.entries.get(id) === entry) this.entries.delete(id)
  }

  get size(): number {
    return this.entries.size
  }

  /** Maps keep insertion order: the oldest entries come first. */
  private prune(): void {
    const now = this.now()
    for (const [id, e] of this.entries) {
      if (this.entries.size < this.max && now - e.at <= this.ttlMs) break
      this.entries.delete(id)
    }
  }
}
