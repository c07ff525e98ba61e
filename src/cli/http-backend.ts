import type { NodeView } from '../api/views.js'
import type { FenceAction, NodeAction } from '../../core/types.js'
import type { DeviceHealth, HistoryEntry, HistoryQuery, Operation } from '../engine/types.js'
import type { HeartbeatSnapshot } from '../heartbeat/protocol.js'
import type { Backend, RunOptions } from './backend.js'
import { CliError } from './io.js'

const GET_TIMEOUT_MS = 60_000
/** Past the operation's own deadline, how long we still wait for the gateway's answer. */
const ANSWER_GRACE_MS = 15_000
/** No deadline given: the gateway applies its default; we stop waiting after this. */
const DEFAULT_WAIT_MS = 600_000

interface Req {
  method: 'GET' | 'POST'
  path: string
  query?: Record<string, string | undefined>
  body?: unknown
  signal: AbortSignal
  timeoutMs: number
}

/** The REST client of api-contract.md. */
export class HttpBackend implements Backend {
  /** Results come back all at once at the end: progress is a spinner, not a count. */
  readonly counts = false

  constructor(
    readonly where: string,
    private readonly token: string | undefined,
  ) {}

  private async call<T>(req: Req): Promise<T> {
    const url = new URL(this.where + req.path)
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, v)
    const headers: Record<string, string> = { accept: 'application/json' }
    if (this.token) headers.authorization = `Bearer ${this.token}`
    if (req.body !== undefined) headers['content-type'] = 'application/json'
    const timeout = AbortSignal.timeout(req.timeoutMs)
    const signal = AbortSignal.any([req.signal, timeout])
    let res: Response
    try {
      res = await fetch(url, {
        method: req.method,
        headers,
        ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
        signal,
      })
    } catch (e) {
      if (req.signal.aborted)
        throw new CliError(
          req.method === 'POST'
            ? 'interrupted: the gateway stops the operation (see fencegate history)'
            : 'interrupted',
          130,
        )
      if (timeout.aborted)
        throw new CliError(`${this.where}: no answer within ${Math.round(req.timeoutMs / 1000)}s`)
      const code = errCode(e)
      throw new CliError(
        `cannot reach the gateway at ${this.where}: ${code ?? (e as Error).message}` +
          (code === 'ECONNREFUSED' ? ' (is `fencegate serve` running? set --url or FENCEGATE_URL)' : ''),
      )
    }
    const text = await res.text()
    let body: unknown
    try {
      body = text ? JSON.parse(text) : undefined
    } catch {
      throw new CliError(`${this.where}: answered HTTP ${res.status} with something that is not JSON`)
    }
    if (res.status === 200) return body as T
    const err = (body ?? {}) as { code?: string; message?: string; error?: string }
    const hint =
      res.status === 401
        ? this.token
          ? ' (the gateway does not know this token)'
          : ' (no token: set FENCEGATE_TOKEN or --token-file)'
        : ''
    throw new CliError(
      `${err.code ?? `HTTP ${res.status}`}: ${err.message ?? err.error ?? res.statusText}${hint}`,
    )
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
    return this.call<{ simulated: boolean; entries: HistoryEntry[] }>({
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

  async close(): Promise<void> {}
}

/** fetch says `fetch failed`; the reason (ECONNREFUSED, bad port…) is in its cause. */
function errCode(e: unknown): string | undefined {
  const cause = (e as { cause?: { code?: string; message?: string; errors?: { code?: string }[] } }).cause
  return cause?.code ?? cause?.errors?.[0]?.code ?? cause?.message
}
