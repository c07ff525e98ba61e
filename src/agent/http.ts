import http from 'node:http'
import type https from 'node:https'
import { AgentFailure, GatewayHttpError, TransportFailure } from './failure.js'

export interface ClientOptions {
  /** The gateway's replicas, in the order given: tried in turn when one cannot be reached. */
  urls: readonly URL[]
  token: string | undefined
  connectTimeoutMs: number
  /** The bound of one read-only request (GET, probe) on one gateway; the caller's deadline still applies. */
  readTimeoutMs?: number
  allowSimulated: boolean
  sslInsecure?: boolean
  ca?: Buffer
  debug?: (line: string) => void
  /** `user-agent` header. */
  agentName?: string
}

export interface Reply<T> {
  status: number
  body: T
}

export interface RequestOptions {
  body?: unknown
  /** What is left of the caller's deadline, for the whole request (every gateway tried). */
  deadlineMs: number
  /**
   * The request changes nothing (GET, a device probe): it may be sent again to another
   * gateway whatever happened to it on the first.
   */
  readOnly?: boolean
  /**
   * The same key on every gateway tried: a mutating request the first gateway may have
   * accepted is re-sent to another only with it (the gateway then answers the first operation).
   */
  idempotencyKey?: string
  /** The caller went away (Ctrl-C): abort, and the gateway stops an operation sent without a key. */
  signal?: AbortSignal
}

/** Answers bigger than this are not a gateway's (a 1000-node list is ~1 MiB). */
const MAX_BODY = 16 * 1024 * 1024

export const SIMULATED_MESSAGE =
  'answers as simulated (its devices are mocks: `fencegate serve --demo`), so fencing through it would fence nothing real; set allow_simulated=1 (--allow-simulated on the command line) only for demos and tests'

/**
 * The REST client of the agent (and of the CLI): node:http(s) only (the agent is started for
 * every fencing action and monitor, so it must start fast; no fastify, no undici). Every
 * request has two bounds: a connect timeout (a dead gateway is a fast, clear failure) and the
 * caller's deadline, and a read-only request a short bound of its own. Any answer marked
 * simulated is refused unless allowed, before its content is used.
 *
 * Several URLs are replicas of one gateway. A request goes to the last one that answered
 * (else the first) and moves on to the next only when that is safe for fencing:
 * - no connection could be made (refused, connect timeout, DNS, no route): nothing was sent;
 * - a read-only request, whatever happened;
 * - a mutating request that carries an Idempotency-Key, after the first gateway may have
 *   accepted it (connection lost before the answer, 503): the next gets the same key and body.
 * A mutating request without a key is never re-sent once a connection carried it.
 */
export class GatewayClient {
  private readonly agents = new Map<string, http.Agent>()
  private current = 0

  private constructor(
    private readonly o: ClientOptions,
    private readonly httpsMod: typeof https | undefined,
  ) {
    if (o.urls.length === 0) throw new Error('GatewayClient: no URL')
  }

  static async create(o: ClientOptions): Promise<GatewayClient> {
    const needsTls = o.urls.some((u) => u.protocol === 'https:')
    return new GatewayClient(o, needsTls ? await import('node:https') : undefined)
  }

  /** The gateway in use: the last one that answered, else the first. */
  get url(): string {
    return show(this.o.urls[this.current]!)
  }

  get<T>(path: string, deadlineMs: number): Promise<Reply<T>> {
    return this.request<T>('GET', path, { deadlineMs, readOnly: true })
  }

  post<T>(
    path: string,
    body: unknown,
    deadlineMs: number,
    opts: Partial<RequestOptions> = {},
  ): Promise<Reply<T>> {
    return this.request<T>('POST', path, { ...opts, body, deadlineMs })
  }

  close(): void {
    for (const a of this.agents.values()) a.destroy()
    this.agents.clear()
  }

  async request<T>(method: string, path: string, r: RequestOptions): Promise<Reply<T>> {
    const end = performance.now() + r.deadlineMs
    const n = this.o.urls.length
    const failures: AgentFailure[] = []
    for (let i = 0; i < n; i++) {
      const index = (this.current + i) % n
      const left = end - performance.now()
      if (i > 0 && left < 1) break
      try {
        const reply = await this.once<T>(index, method, path, r, Math.max(1, left))
        this.current = index
        return reply
      } catch (e) {
        if (!(e instanceof AgentFailure)) throw e
        failures.push(e)
        if (r.signal?.aborted || !this.mayFailOver(e, r) || i === n - 1) break
        this.o.debug?.(`${method} ${path}: ${e.message}; trying the next gateway`)
      }
    }
    if (failures.length === 1) throw failures[0]!
    const last = failures[failures.length - 1]!
    const all = new AgentFailure(
      `${method} ${path}: no gateway of ${n} could take it: ${failures.map((f) => f.message).join('; ')}`,
    )
    throw last instanceof GatewayHttpError ? last : all
  }

  private mayFailOver(e: AgentFailure, r: RequestOptions): boolean {
    if (e instanceof TransportFailure && !e.connected) return true
    const lostAfterConnect =
      e instanceof TransportFailure || (e instanceof GatewayHttpError && e.status === 503)
    return lostAfterConnect && (r.readOnly === true || r.idempotencyKey !== undefined)
  }

  private agentFor(url: URL): http.Agent {
    let a = this.agents.get(url.origin)
    if (!a) {
      a =
        url.protocol === 'https:'
          ? new this.httpsMod!.Agent({
              keepAlive: true,
              rejectUnauthorized: !this.o.sslInsecure,
              ...(this.o.ca ? { ca: this.o.ca } : {}),
            })
          : new http.Agent({ keepAlive: true })
      this.agents.set(url.origin, a)
    }
    return a
  }

  private once<T>(
    index: number,
    method: string,
    path: string,
    r: RequestOptions,
    deadlineMs: number,
  ): Promise<Reply<T>> {
    const url = this.o.urls[index]!
    const at = show(url)
    const what = `${method} ${path}`
    const payload = r.body === undefined ? undefined : JSON.stringify(r.body)
    const readBound = r.readOnly && this.o.readTimeoutMs !== undefined && this.o.readTimeoutMs < deadlineMs
    const waitMs = readBound ? this.o.readTimeoutMs! : deadlineMs
    const started = performance.now()
    const mod = url.protocol === 'https:' ? this.httpsMod! : http
    return new Promise<Reply<T>>((resolve, reject) => {
      let connectTimer: NodeJS.Timeout | undefined
      let settled = false
      let connected = false
      const finish = (err: Error | undefined, value?: Reply<T>) => {
        if (settled) return
        settled = true
        clearTimeout(deadlineTimer)
        clearTimeout(connectTimer)
        r.signal?.removeEventListener('abort', onAbort)
        if (err) {
          req.destroy()
          this.o.debug?.(
            `${what} failed after ${Math.round(performance.now() - started)} ms (${at}): ${err.message}`,
          )
          reject(err)
        } else {
          this.o.debug?.(
            `${what} -> ${value!.status} in ${Math.round(performance.now() - started)} ms (${at})`,
          )
          resolve(value!)
        }
      }
      const headers: Record<string, string> = {
        accept: 'application/json',
        'user-agent': this.o.agentName ?? 'fence_fencegate',
      }
      if (this.o.token !== undefined) headers.authorization = `Bearer ${this.o.token}`
      if (r.idempotencyKey !== undefined) headers['idempotency-key'] = r.idempotencyKey
      if (payload !== undefined) {
        headers['content-type'] = 'application/json'
        headers['content-length'] = String(Buffer.byteLength(payload))
      }
      const req = mod.request({
        protocol: url.protocol,
        hostname: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port || (url.protocol === 'https:' ? 443 : 80),
        path: url.pathname.replace(/\/+$/, '') + path,
        method,
        headers,
        agent: this.agentFor(url),
      })
      const onAbort = () => finish(new AgentFailure(`${what}: interrupted`))
      r.signal?.addEventListener('abort', onAbort, { once: true })
      if (r.signal?.aborted) queueMicrotask(onAbort)
      const deadlineTimer = setTimeout(
        () =>
          finish(
            connected
              ? new TransportFailure(
                  `${what}: timed out after ${fmt(waitMs)} waiting for the gateway at ${at} to answer${readBound ? ' (read_timeout)' : ''}`,
                  true,
                )
              : connectTimedOut(at, Math.min(waitMs, this.o.connectTimeoutMs)),
          ),
        waitMs,
      )
      req.on('socket', (socket) => {
        if (!socket.connecting) {
          connected = true // a kept-alive connection
          return
        }
        connectTimer = setTimeout(
          () => finish(connectTimedOut(at, this.o.connectTimeoutMs)),
          this.o.connectTimeoutMs,
        )
        socket.once('connect', () => {
          connected = true
          clearTimeout(connectTimer)
        })
      })
      req.on('error', (e) =>
        finish(reachFailure(e as NodeJS.ErrnoException, at, url.hostname, what, connected)),
      )
      req.on('response', (res) => {
        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (c: Buffer) => {
          size += c.length
          if (size > MAX_BODY) finish(new AgentFailure(`${what}: the gateway's answer is larger than 16 MiB`))
          else chunks.push(c)
        })
        res.on('error', (e) => finish(reachFailure(e as NodeJS.ErrnoException, at, url.hostname, what, true)))
        res.on('end', () =>
          finish(...answer<T>(res, Buffer.concat(chunks).toString('utf8'), what, at, this.o)),
        )
      })
      req.end(payload)
    })
  }
}

/** The URL as people write it: no trailing slash. */
const show = (u: URL): string => u.href.replace(/\/+$/, '')

/** An HTTP answer: the body, or why it is not a fencegate answer we may use. */
function answer<T>(
  res: http.IncomingMessage,
  text: string,
  what: string,
  at: string,
  o: ClientOptions,
): [Error | undefined, Reply<T>?] {
  const status = res.statusCode ?? 0
  const notOurs = `the server at ${at} answered ${what} with HTTP ${status}`
  let parsed: unknown
  try {
    parsed = text ? JSON.parse(text) : undefined
  } catch {
    return [
      new AgentFailure(
        `${notOurs} and a body that is not JSON: it does not look like a fencegate gateway (check the URL)${text.trim() ? `: ${text.trim().slice(0, 120)}` : ''}`,
      ),
    ]
  }
  const obj = (parsed ?? {}) as Record<string, unknown>
  const simulated = res.headers['fencegate-simulated'] === 'true' || obj.simulated === true
  if (simulated && !o.allowSimulated) return [new AgentFailure(`the gateway at ${at} ${SIMULATED_MESSAGE}`)]
  if (status >= 400) {
    // every fencegate error answer is {statusCode, error, code, message}
    if (typeof obj.code !== 'string' || typeof obj.message !== 'string')
      return [
        new AgentFailure(
          `${notOurs} (${typeof obj.error === 'string' && obj.error ? obj.error : 'no fencegate error body'}): it does not look like a fencegate gateway (check the URL)`,
        ),
      ]
    return [new GatewayHttpError(status, obj.code, obj.message, what, obj)]
  }
  return [undefined, { status, body: parsed as T }]
}

/** One wording for a gateway that does not accept the connection in time (agent and CLI). */
export function connectTimedOut(at: string, ms: number): TransportFailure {
  return new TransportFailure(
    `cannot reach the gateway at ${at}: no connection within ${fmt(ms)} (connect timed out)`,
    false,
  )
}

/** A socket error in words; `connected` says whether a request may have reached the gateway. */
export function reachFailure(
  e: NodeJS.ErrnoException,
  at: string,
  host: string,
  what: string,
  connected: boolean,
): TransportFailure {
  const code = e.code ?? ''
  const gw = `the gateway at ${at}`
  const fail = (m: string) => new TransportFailure(m, connected)
  switch (code) {
    case 'ECONNREFUSED':
      return fail(`cannot reach ${gw}: connection refused (is fencegate running?)`)
    case 'ENETUNREACH':
    case 'EHOSTUNREACH':
    case 'EHOSTDOWN':
    case 'EADDRNOTAVAIL':
      return fail(`cannot reach ${gw}: no route to the gateway (${code})`)
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return fail(`cannot reach ${gw}: cannot resolve ${host} (${code})`)
    case 'ECONNRESET':
    case 'EPIPE':
      return fail(`${what}: ${gw} closed the connection before answering (${code})`)
  }
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|SSL/.test(code))
    // the handshake failed: no request was sent
    return new TransportFailure(
      `cannot verify the TLS certificate of ${gw}: ${e.message} (${code}); set ca_file, or ssl_insecure=1`,
      false,
    )
  if (e.message === 'socket hang up') return fail(`${what}: ${gw} closed the connection before answering`)
  return fail(`${what}: request to ${gw} failed: ${e.message}${code ? ` (${code})` : ''}`)
}

export function fmt(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`
}
