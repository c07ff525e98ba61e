/**
 * Bounds on the operations one token has in flight through the API (running, or waited for):
 * at most `perToken` in all and `perNode` on any one node, past which a request is refused
 * with 429 TOO_MANY_OPERATIONS before anything is started. Each token has two separate
 * budgets, one for fence requests and one for everything else, so neither another token's
 * traffic nor a token's own power requests can ever use up the room its fences need.
 */
import { FenceError } from '../../core/errors.js'

export interface InFlightLimits {
  /** Operations in flight per token (and budget). */
  perToken: number
  /** Operations in flight per token (and budget) on one node. */
  perNode: number
}

export type Budget = 'fence' | 'power'

export class InFlight {
  private readonly ops = new Map<string, number>()
  private readonly nodes = new Map<string, number>()

  constructor(private readonly limits: InFlightLimits) {}

  /** Count one operation of `token` on `nodes`; the returned function uncounts it (once). */
  acquire(token: string, budget: Budget, nodes: readonly string[]): () => void {
    const scope = `${token}\u0000${budget}`
    const what = budget === 'fence' ? 'fence operations' : 'operations'
    const n = this.ops.get(scope) ?? 0
    if (n >= this.limits.perToken)
      throw new FenceError(
        'TOO_MANY_OPERATIONS',
        `too many ${what} in flight for token ${token} (api.maxInFlightPerToken: ${this.limits.perToken}): wait for one to end (GET /v1/operations/{id})`,
        { limit: 'api.maxInFlightPerToken', max: this.limits.perToken },
      )
    const unique = [...new Set(nodes)]
    for (const node of unique) {
      const m = this.nodes.get(`${scope}\u0000${node}`) ?? 0
      if (m >= this.limits.perNode)
        throw new FenceError(
          'TOO_MANY_OPERATIONS',
          `too many ${what} in flight for token ${token} on node ${node} (api.maxInFlightPerNode: ${this.limits.perNode}): wait for one to end (GET /v1/operations/{id})`,
          { limit: 'api.maxInFlightPerNode', max: this.limits.perNode, node },
        )
    }
    this.ops.set(scope, n + 1)
    for (const node of unique) bump(this.nodes, `${scope}\u0000${node}`, 1)
    let released = false
    return () => {
      if (released) return
      released = true
      bump(this.ops, scope, -1)
      for (const node of unique) bump(this.nodes, `${scope}\u0000${node}`, -1)
    }
  }

  /** Operations counted now (all tokens and budgets). */
  get size(): number {
    let n = 0
    for (const v of this.ops.values()) n += v
    return n
  }
}

function bump(m: Map<string, number>, k: string, by: number): void {
  const v = (m.get(k) ?? 0) + by
  if (v > 0) m.set(k, v)
  else m.delete(k)
}
