import type { NodeView } from '../api/views.js'
import type { FenceAction, NodeAction } from '../../core/types.js'
import type { DeviceHealth, HistoryEntry, HistoryQuery, Operation } from '../engine/types.js'
import type { HeartbeatSnapshot } from '../heartbeat/protocol.js'
import type { ClusterStatus } from '../coordination/cluster-view.js'
import type { Backend, RunOptions } from './backend.js'
import { AgentFailure, GatewayHttpError } from '../agent/failure.js'
import { GatewayClient } from '../agent/http.js'
import { CliError } from './io.js'

const GET_TIMEOUT_MS = 60_000
/** Past the operation's own deadline, how long we still wait for the gateway's answer. */
const ANSWER_GRACE_MS = 15_000
/** No deadline given: the gateway applies its default; we stop waiting after this. */
const DEFAULT_WAIT_MS = 600_000
/** The same connect bound as the fence agent's connect_timeout default: a dead gateway fails fast. */
export const CONNECT_TIMEOUT_MS = 2_000

/** The gateway answered with an error: the one-line message, and the answer for commands that show more of it. */
export class GatewayRefusal extends CliError {
  constructor(
    message: string,
    readonly status: number,
    readonly body?: Record<string, unknown>,
  ) {
    super(message)
    this.name = 'GatewayRefusal'
  }
}

interface Req {
  method: 'GET' | 'POST'
  path: string
  query?: Record<string, string | undefined>
  body?: unknown
  signal: AbortSignal
  timeoutMs: number
}

/**
 * The REST client of api-contract.md, over the fence agent's client (src/agent/http.ts): the
 * same connect bound, the same words for an unreachable gateway or a server that is not one.
 */
export class HttpBackend implements Backend {
  /** Results come back all at once at the end: progress is a spinner, not a count. */
  readonly counts = false
  private client: Promise<GatewayClient> | undefined

  /** `tokenFrom`: where the token came from, for the message when the gateway refuses it. */
  constructor(
    readonly where: string,
    private readonly token: string | undefined,
    private readonly tokenFrom?: string,
  ) {}

  private gateway(): Promise<GatewayClient> {
    this.client ??= GatewayClient.create({
      urls: [new URL(this.where)],
      token: this.token,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      allowSimulated: true,
      agentName: 'fencegate',
    })
    return this.client
  }

  private async call<T>(req: Req): Promise<T> {
    const query = new URLSearchParams()
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) query.set(k, v)
    const path = `${req.path}${query.size ? `?${query}` : ''}`
    const client = await this.gateway()
    try {
      const r = await client.request<T>(req.method, path, {
        deadlineMs: req.timeoutMs,
        readOnly: req.method === 'GET',
        signal: req.signal,
        ...(req.body !== undefined ? { body: req.body } : {}),
      })
      return r.body
    } catch (e) {
      if (req.signal.aborted)
        throw new CliError(
          req.method === 'POST'
            ? 'interrupted: the gateway stops the operation (see fencegate history)'
            : 'interrupted',
          130,
        )
      if (e instanceof GatewayHttpError) throw new GatewayRefusal(this.refusal(e), e.status, e.body)
      if (e instanceof AgentFailure) throw new CliError(e.message)
      throw e
    }
  }

  private refusal(e: GatewayHttpError): string {
    if (e.status !== 401) return `${e.code}: ${e.detail}`
    if (this.token === undefined)
      return `${e.code}: no token: set FENCEGATE_TOKEN, --token-file FILE, or ~/.config/fencegate/token (\`npx fencegate serve --demo\` writes it; \`npx fencegate token\` makes one)`
    return `${e.code}: ${e.detail}${this.tokenFrom ? `; the token came from ${this.tokenFrom}` : ''}`
  }

  nodes(targets: string | undefined, refresh: boolean, signal: AbortSignal) {
    return this.call<{ simulated: boolean; nodes: NodeView[] }>({
      method: 'GET',
      path: '/v1/nodes',
      query: { targets, refresh: refresh ? 'true' : undefined },
      signal,
      timeoutMs: GET_TIMEOUT_MS,
    })
  }

  power(nodes: string[], targets: string, action: NodeAction, opts: RunOptions) {
    const body = { action, ...(opts.timeoutS !== undefined ? { timeout: opts.timeoutS } : {}) }
    if (nodes.length === 1) return this.run(`/v1/nodes/${encodeURIComponent(nodes[0]!)}/power`, body, opts)
    return this.run('/v1/power', { targets, ...body }, opts)
  }

  fence(node: string, action: FenceAction | undefined, opts: RunOptions) {
    const body = {
      ...(action ? { action } : {}),
      ...(opts.timeoutS !== undefined ? { timeout: opts.timeoutS } : {}),
    }
    return this.run(`/v1/nodes/${encodeURIComponent(node)}/fence`, body, opts)
  }

  confirm(node: string, reason: string, opts: RunOptions) {
    const body = { reason, ...(opts.timeoutS !== undefined ? { timeout: opts.timeoutS } : {}) }
    return this.run(`/v1/nodes/${encodeURIComponent(node)}/confirm`, body, opts)
  }

  /**
   * POST an operation and wait for its answer in the same request. No Idempotency-Key on
   * purpose: then a caller who hangs up (Ctrl-C) makes the gateway stop issuing steps (rule 6),
   * which is what a person interrupting a command wants. For the same reason a lost connection
   * is not retried: the operation it carried was stopped, and the user decides what next.
   */
  private run(
    path: string,
    body: Record<string, unknown>,
    opts: RunOptions,
  ): Promise<{ simulated: boolean; operation: Operation }> {
    const waitMs = opts.timeoutS !== undefined ? opts.timeoutS * 1000 + ANSWER_GRACE_MS : DEFAULT_WAIT_MS
    return this.call({ method: 'POST', path, body, signal: opts.signal, timeoutMs: waitMs })
  }

  history(q: HistoryQuery, signal: AbortSignal) {
    return this.call<{ simulated: boolean; entries: HistoryEntry[]; warning?: string }>({
      method: 'GET',
      path: '/v1/history',
      query: {
        node: q.node,
        since: q.since?.toISOString(),
        until: q.until?.toISOString(),
        outcome: q.outcome,
        limit: q.limit !== undefined ? String(q.limit) : undefined,
      },
      signal,
      timeoutMs: GET_TIMEOUT_MS,
    })
  }

  devices(signal: AbortSignal) {
    return this.call<{ simulated: boolean; devices: DeviceHealth[] }>({
      method: 'GET',
      path: '/v1/devices',
      signal,
      timeoutMs: GET_TIMEOUT_MS,
    })
  }

  /** GET /v1/heartbeat (`fencegate members`): not part of Backend, membership lives in `serve`. */
  heartbeat(signal: AbortSignal) {
    return this.call<HeartbeatSnapshot & { simulated: boolean }>({
      method: 'GET',
      path: '/v1/heartbeat',
      signal,
      timeoutMs: GET_TIMEOUT_MS,
    })
  }

  /** GET /v1/cluster (`fencegate cluster`): replicas live only in a running gateway. */
  cluster(signal: AbortSignal) {
    return this.call<ClusterStatus & { simulated: boolean }>({
      method: 'GET',
      path: '/v1/cluster',
      signal,
      timeoutMs: GET_TIMEOUT_MS,
    })
  }

  async close(): Promise<void> {
    if (this.client) (await this.client).close()
  }
}
