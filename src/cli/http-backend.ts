import { randomUUID } from 'node:crypto'
import type { FenceAction, NodeAction } from '../core/types.js'
import type { DeviceHealth, HistoryEntry, HistoryQuery, Operation } from '../engine/types.js'
import type { Backend, NodeView, RunOptions } from './backend.js'
import { CliError } from './io.js'

const GET_TIMEOUT_MS = 60_000
/** Past the operation's own deadline, how long we still wait for the gateway's answer. */
const ANSWER_GRACE_MS = 15_000
/** No deadline given: the gateway applies its default; we stop waiting after this. */
const DEFAULT_WAIT_MS = 600_000
const POLL_MS = 250

interface Req {
  method: 'GET' | 'POST'
  path: string
  query?: Record<string, string | undefined>
  body?: unknown
  signal: AbortSignal
  timeoutMs: number
  /** 202 is an answer too (wait=false). */
  accept?: number[]
}

/** The REST client of api-contract.md. */
export class HttpBackend implements Backend {
  constructor(
    readonly where: string,
    private readonly token: string | undefined,
  ) {}

  private async call<T>(req: Req): Promise<T> {
    const url = new URL(this.where + req.path)
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, v)
    const headers: Record<string, string> = { accept: 'application/json' }
    if (this.token) headers.authorization = `Bearer ${this.token}`
    if (req.body !== undefined) {
      headers['content-type'] = 'application/json'
      // a retry after a lost connection must not act twice: the gateway answers the first operation
      if (req.method === 'POST') headers['idempotency-key'] = randomUUID()
    }
    const timeout = AbortSignal.timeout(req.timeoutMs)
    const signal = AbortSignal.any([req.signal, timeout])
    let res: Response | undefined
    for (let attempt = 1; ; attempt++) {
      try {
        res = await fetch(url, {
          method: req.method,
          headers,
          ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
          signal,
        })
        break
      } catch (e) {
        if (req.signal.aborted) throw new CliError('interrupted', 130)
        if (timeout.aborted)
          throw new CliError(`${this.where}: no answer within ${Math.round(req.timeoutMs / 1000)}s`)
        const code = errCode(e)
        // connection reset mid-request: retry once with the same Idempotency-Key
        if (attempt < 2 && req.method === 'POST' && code !== 'ECONNREFUSED' && code !== 'ENOTFOUND') continue
        throw new CliError(
          `cannot reach the gateway at ${this.where}: ${code ?? (e as Error).message}` +
            (code === 'ECONNREFUSED' ? ' (is `fencegate serve` running? set --url or FENCEGATE_URL)' : ''),
        )
      }
    }
    const text = await res.text()
    let body: unknown
    try {
      body = text ? JSON.parse(text) : undefined
    } catch {
      throw new CliError(`${this.where}: answered HTTP ${res.status} with something that is not JSON`)
    }
    if (res.ok && (res.status === 200 || (req.accept ?? []).includes(res.status))) return body as T
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
    if (nodes.length === 1)
      return this.run(`/v1/nodes/${encodeURIComponent(nodes[0]!)}/power`, body, nodes.length, opts)
    return this.run('/v1/power', { targets, ...body }, nodes.length, opts)
  }

  fence(node: string, action: FenceAction | undefined, opts: RunOptions) {
    const body = {
      ...(action ? { action } : {}),
      ...(opts.timeoutS !== undefined ? { timeout: opts.timeoutS } : {}),
    }
    return this.run(`/v1/nodes/${encodeURIComponent(node)}/fence`, body, 1, opts)
  }

  /**
   * POST an operation. With a progress callback, ask for `wait=false` and poll the operation so
   * the person at the terminal sees it move; otherwise wait for the answer in one request.
   */
  private async run(
    path: string,
    body: Record<string, unknown>,
    total: number,
    opts: RunOptions,
  ): Promise<{ simulated: boolean; operation: Operation }> {
    const waitMs = opts.timeoutS !== undefined ? opts.timeoutS * 1000 + ANSWER_GRACE_MS : DEFAULT_WAIT_MS
    if (!opts.progress)
      return this.call({ method: 'POST', path, body, signal: opts.signal, timeoutMs: waitMs })
    const started = Date.now()
    let answer = await this.call<{ simulated: boolean; operation: Operation }>({
      method: 'POST',
      path,
      query: { wait: 'false' },
      body,
      signal: opts.signal,
      timeoutMs: GET_TIMEOUT_MS,
      accept: [202],
    })
    while (answer.operation.status === 'running') {
      opts.progress(answer.operation.results.length, total)
      if (Date.now() - started > waitMs)
        throw new CliError(
          `operation ${answer.operation.id} still running after ${Math.round(waitMs / 1000)}s (see fencegate history)`,
        )
      await new Promise((r) => setTimeout(r, POLL_MS))
      if (opts.signal.aborted)
        throw new CliError(`interrupted (operation ${answer.operation.id} goes on)`, 130)
      answer = await this.call({
        method: 'GET',
        path: `/v1/operations/${encodeURIComponent(answer.operation.id)}`,
        signal: opts.signal,
        timeoutMs: GET_TIMEOUT_MS,
      })
    }
    opts.progress(answer.operation.results.length, total)
    return answer
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

  async close(): Promise<void> {}
}

/** fetch says `fetch failed`; the reason (ECONNREFUSED, bad port…) is in its cause. */
function errCode(e: unknown): string | undefined {
  const cause = (e as { cause?: { code?: string; message?: string; errors?: { code?: string }[] } }).cause
  return cause?.code ?? cause?.errors?.[0]?.code ?? cause?.message
}
