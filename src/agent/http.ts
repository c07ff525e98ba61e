import http from 'node:http'
import type https from 'node:https'
import { AgentFailure, GatewayHttpError } from './failure.js'

export interface ClientOptions {
  url: URL
  token: string
  connectTimeoutMs: number
  allowSimulated: boolean
  sslInsecure?: boolean
  ca?: Buffer
  debug?: (line: string) => void
}

export interface Reply<T> {
  status: number
  body: T
}

/** Answers bigger than this are not a gateway's (a 1000-node list is ~1 MiB). */
const MAX_BODY = 16 * 1024 * 1024

export const SIMULATED_MESSAGE =
  'answers as simulated (its devices are mocks: `fencegate serve --demo`), so fencing through it would fence nothing real; set allow_simulated=1 only for demos and tests'

/**
 * The agent's REST client: node:http(s) only (the agent is started for every fencing action
 * and monitor, so it must start fast; no fastify, no undici). Every request has two bounds: a
 * connect timeout (a dead gateway is a fast, clear failure) and the caller's deadline.
 * Any answer marked simulated is refused unless allowed, before its content is used.
 */
export class GatewayClient {
  private readonly agent: http.Agent
  private readonly base: string

  private constructor(
    private readonly o: ClientOptions,
    private readonly mod: typeof http | typeof https,
    agent: http.Agent,
  ) {
    this.agent = agent
    this.base = o.url.pathname.replace(/\/+$/, '')
  }

  static async create(o: ClientOptions): Promise<GatewayClient> {
    if (o.url.protocol === 'https:') {
      const https = await import('node:https')
      const agent = new https.Agent({
        keepAlive: true,
        rejectUnauthorized: !o.sslInsecure,
        ...(o.ca ? { ca: o.ca } : {}),
      })
      return new GatewayClient(o, https, agent)
    }
    return new GatewayClient(o, http, new http.Agent({ keepAlive: true }))
  }

  get url(): string {
    return this.o.url.href.replace(/\/+$/, '')
  }

  get<T>(path: string, deadlineMs: number): Promise<Reply<T>> {
    return this.request<T>('GET', path, undefined, deadlineMs)
  }

  post<T>(path: string, body: unknown, deadlineMs: number): Promise<Reply<T>> {
    return this.request<T>('POST', path, body, deadlineMs)
  }

  close(): void {
    this.agent.destroy()
  }

  private request<T>(method: string, path: string, body: unknown, deadlineMs: number): Promise<Reply<T>> {
    const what = `${method} ${path}`
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const started = performance.now()
    return new Promise<Reply<T>>((resolve, reject) => {
      let connectTimer: NodeJS.Timeout | undefined
      let settled = false
      const finish = (err: Error | undefined, value?: Reply<T>) => {
        if (settled) return
        settled = true
        clearTimeout(deadlineTimer)
        clearTimeout(connectTimer)
        if (err) {
          req.destroy()
          this.o.debug?.(`${what} failed after ${Math.round(performance.now() - started)} ms: ${err.message}`)
          reject(err)
        } else {
          this.o.debug?.(`${what} -> ${value!.status} in ${Math.round(performance.now() - started)} ms`)
          resolve(value!)
        }
      }
      const headers: Record<string, string> = {
        authorization: `Bearer ${this.o.token}`,
        accept: 'application/json',
        'user-agent': 'fence_fencegate',
      }
      if (payload !== undefined) {
        headers['content-type'] = 'application/json'
        headers['content-length'] = String(Buffer.byteLength(payload))
      }
      const req = this.mod.request({
        protocol: this.o.url.protocol,
        hostname: this.o.url.hostname.replace(/^\[|\]$/g, ''),
        port: this.o.url.port || (this.o.url.protocol === 'https:' ? 443 : 80),
        path: this.base + path,
        method,
        headers,
        agent: this.agent,
      })
      const deadlineTimer = setTimeout(
        () =>
          finish(
            new AgentFailure(
              `${what}: timed out after ${fmt(deadlineMs)} waiting for the gateway at ${this.url} to answer`,
            ),
          ),
        deadlineMs,
      )
      req.on('socket', (socket) => {
        if (!socket.connecting) return // a kept-alive connection
        connectTimer = setTimeout(
          () =>
            finish(
              new AgentFailure(
                `cannot reach the gateway at ${this.url}: no connection within ${fmt(this.o.connectTimeoutMs)} (connect timed out)`,
              ),
            ),
          this.o.connectTimeoutMs,
        )
        socket.once('connect', () => clearTimeout(connectTimer))
      })
      req.on('error', (e) => finish(this.translate(e as NodeJS.ErrnoException, what)))
      req.on('response', (res) => {
        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (c: Buffer) => {
          size += c.length
          if (size > MAX_BODY) finish(new AgentFailure(`${what}: the gateway's answer is larger than 16 MiB`))
          else chunks.push(c)
        })
        res.on('error', (e) => finish(this.translate(e as NodeJS.ErrnoException, what)))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let parsed: unknown
          try {
            parsed = text ? JSON.parse(text) : undefined
          } catch {
            return finish(
              new AgentFailure(
                `${what}: the server at ${this.url} answered HTTP ${res.statusCode} with a body that is not JSON (is it a fencegate gateway?): ${text.slice(0, 120)}`,
              ),
            )
          }
          const obj = (parsed ?? {}) as Record<string, unknown>
          const simulated = res.headers['fencegate-simulated'] === 'true' || obj.simulated === true
          if (simulated && !this.o.allowSimulated)
            return finish(new AgentFailure(`the gateway at ${this.url} ${SIMULATED_MESSAGE}`))
          const status = res.statusCode ?? 0
          if (status >= 400)
            return finish(
              new GatewayHttpError(
                status,
                typeof obj.code === 'string' ? obj.code : String(obj.error ?? 'ERROR'),
                typeof obj.message === 'string' ? obj.message : text.slice(0, 200),
                what,
              ),
            )
          finish(undefined, { status, body: parsed as T })
        })
      })
      req.end(payload)
    })
  }

  private translate(e: NodeJS.ErrnoException, what: string): AgentFailure {
    const code = e.code ?? ''
    const at = `the gateway at ${this.url}`
    switch (code) {
      case 'ECONNREFUSED':
        return new AgentFailure(`cannot reach ${at}: connection refused (is fencegate running?)`)
      case 'ENETUNREACH':
      case 'EHOSTUNREACH':
      case 'EHOSTDOWN':
      case 'EADDRNOTAVAIL':
        return new AgentFailure(`cannot reach ${at}: no route to the gateway (${code})`)
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return new AgentFailure(`cannot reach ${at}: cannot resolve ${this.o.url.hostname} (${code})`)
      case 'ECONNRESET':
      case 'EPIPE':
        return new AgentFailure(`${what}: ${at} closed the connection before answering (${code})`)
    }
    if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|SSL/.test(code))
      return new AgentFailure(
        `cannot verify the TLS certificate of ${at}: ${e.message} (${code}); set ca_file, or ssl_insecure=1`,
      )
    if (e.message === 'socket hang up')
      return new AgentFailure(`${what}: ${at} closed the connection before answering`)
    return new AgentFailure(`${what}: request to ${at} failed: ${e.message}${code ? ` (${code})` : ''}`)
  }
}

export function fmt(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`
}
