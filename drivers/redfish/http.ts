/**
 * HTTPS to one Redfish service: an undici Client (keep-alive, one connection) behind our own
 * TLS connector, so that the certificate is checked our way: against a CA file, against a
 * pinned SHA-256 fingerprint, or (written out as `insecure: true`) not at all. The connector
 * also bounds TCP connect + TLS handshake (a BMC that accepts and never finishes the handshake
 * is unreachable, not a hang). Bodies are read up to a size bound.
 */
import { X509Certificate, timingSafeEqual } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import tls from 'node:tls'
import { Client, type Dispatcher, errors as undiciErrors } from 'undici'
import type { IncomingHttpHeaders } from 'undici/types/header.js'
import { FenceError, abortError } from '../../core/errors.js'

export interface TlsPolicy {
  caFile?: string
  /** Lower-case hex, no colons. */
  fingerprint?: string
  insecure: boolean
}

export interface HttpOptions {
  host: string
  port: number
  label: string
  tls: TlsPolicy
  unreachableTimeoutMs: number
  requestTimeoutMs: number
  maxBodyBytes: number
}

export interface HttpAnswer {
  status: number
  headers: IncomingHttpHeaders
  /** The parsed JSON body; undefined for an empty body. */
  json: unknown
  /** The raw body text (for error messages; bounded). */
  text: string
}

export function certFingerprint(der: Buffer): string {
  return new X509Certificate(der).fingerprint256.replace(/:/g, '').toLowerCase()
}

export class RedfishHttp {
  private readonly client: Client
  private readonly ca: Buffer | undefined
  /** Why the last connection attempt failed, as a FenceError (undici wraps connector errors). */
  private connectError: FenceError | undefined

  constructor(private readonly o: HttpOptions) {
    if (o.tls.caFile) {
      try {
        this.ca = readFileSync(o.tls.caFile)
      } catch (e) {
        throw new FenceError(
          'CONFIG_INVALID',
          `${o.label}: caFile: cannot read ${o.tls.caFile}: ${(e as NodeJS.ErrnoException).code}`,
        )
      }
    }
    const origin = `https://${isIP(o.host) === 6 ? `[${o.host}]` : o.host}:${o.port}`
    this.client = new Client(origin, {
      connect: (_opts, cb) => this.connect(cb),
      keepAliveTimeout: 4000,
      keepAliveMaxTimeout: 30_000,
      headersTimeout: o.requestTimeoutMs,
      bodyTimeout: o.requestTimeoutMs,
      pipelining: 1,
    })
  }

  private connect(cb: (...args: [null, tls.TLSSocket] | [Error, null]) => void): void {
    const { host, port, label } = this.o
    const policy = this.o.tls
    const opts: tls.ConnectionOptions = {
      host,
      port,
      ALPNProtocols: ['http/1.1'],
      rejectUnauthorized: !(policy.insecure || policy.fingerprint),
    }
    if (!isIP(host)) opts.servername = host
    if (this.ca) opts.ca = this.ca
    const socket = tls.connect(opts)
    let done = false
    const finish = (err: FenceError | undefined) => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.off('error', onError)
      if (err) {
        this.connectError = err
        socket.destroy()
        cb(err, null)
      } else {
        this.connectError = undefined
        cb(null, socket)
      }
    }
    const timer = setTimeout(
      () =>
        finish(
          new FenceError(
            'DEVICE_UNREACHABLE',
            `${label}: no TLS connection within ${this.o.unreachableTimeoutMs} ms (connect or handshake)`,
          ),
        ),
      this.o.unreachableTimeoutMs,
    )
    const onError = (e: NodeJS.ErrnoException) => finish(connectFailure(e, label))
    socket.on('error', onError)
    socket.once('secureConnect', () => {
      if (policy.fingerprint) {
        const cert = socket.getPeerCertificate()
        const got = cert?.raw ? certFingerprint(cert.raw) : ''
        const a = Buffer.from(got, 'hex')
        const b = Buffer.from(policy.fingerprint, 'hex')
        if (a.length !== b.length || !timingSafeEqual(a, b))
          return finish(
            new FenceError(
              'INSECURE_DEVICE',
              `${label}: the certificate's SHA-256 fingerprint is ${got || 'absent'}, not the configured ${policy.fingerprint}: refusing to talk to it`,
            ),
          )
      }
      finish(undefined)
    })
  }

  /** One request; the body read up to maxBodyBytes and parsed as JSON when there is one. */
  async request(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    headers: Record<string, string>,
    body: unknown,
    signal: AbortSignal,
  ): Promise<HttpAnswer> {
    const { label, maxBodyBytes } = this.o
    const h: Record<string, string> = { accept: 'application/json', 'odata-version': '4.0', ...headers }
    let payload: string | undefined
    if (body !== undefined) {
      payload = JSON.stringify(body)
      h['content-type'] = 'application/json'
    }
    let res: Dispatcher.ResponseData
    try {
      res = await this.client.request({ method, path, headers: h, body: payload, signal })
    } catch (e) {
      throw this.failure(e, signal, `${method} ${path}`)
    }
    const chunks: Buffer[] = []
    let size = 0
    try {
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length
        if (size > maxBodyBytes) {
          res.body.destroy()
          throw new FenceError(
            'PROTOCOL_ERROR',
            `${label}: ${method} ${path}: answer larger than ${maxBodyBytes} bytes, refused`,
          )
        }
        chunks.push(chunk as Buffer)
      }
    } catch (e) {
      if (e instanceof FenceError) throw e
      throw this.failure(e, signal, `${method} ${path} (reading the answer)`)
    }
    const text = Buffer.concat(chunks).toString('utf8')
    let json: unknown
    if (text.trim()) {
      try {
        json = JSON.parse(text)
      } catch {
        // an error page in HTML from a proxy or a 5xx is still worth a clear message; the caller decides
        json = undefined
        if (res.statusCode < 300)
          throw new FenceError(
            'PROTOCOL_ERROR',
            `${label}: ${method} ${path}: HTTP ${res.statusCode} with a body that is not JSON (${printable(text)})`,
          )
      }
    }
    return { status: res.statusCode, headers: res.headers, json, text: text.slice(0, 2000) }
  }

  private failure(e: unknown, signal: AbortSignal, what: string): FenceError {
    const label = this.o.label
    if (signal.aborted) return abortError(signal)
    if (e instanceof FenceError) return e
    const err = e as NodeJS.ErrnoException & { cause?: unknown }
    if (this.connectError && (err.code === 'UND_ERR_CONNECT_TIMEOUT' || !err.code || err.name === 'Error'))
      return this.connectError
    const cause = err.cause as FenceError | undefined
    if (cause instanceof FenceError) return cause
    switch (err.code) {
      case 'UND_ERR_HEADERS_TIMEOUT':
      case 'UND_ERR_BODY_TIMEOUT':
        return new FenceError(
          'DEVICE_TIMEOUT',
          `${label}: ${what}: no answer within ${this.o.requestTimeoutMs} ms`,
        )
      case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
        return new FenceError(
          'PROTOCOL_ERROR',
          `${label}: ${what}: truncated answer (shorter than its length)`,
        )
      case 'UND_ERR_SOCKET':
      case 'ECONNRESET':
      case 'EPIPE':
        return new FenceError(
          'CONNECTION_LOST',
          `${label}: ${what}: the connection was closed (${err.message})`,
        )
      case 'UND_ERR_CLOSED':
      case 'UND_ERR_DESTROYED':
        return new FenceError('ENGINE_CLOSED', `${label}: driver closed`)
      default:
        if (typeof err.code === 'string' && err.code.startsWith('HPE_'))
          return new FenceError('PROTOCOL_ERROR', `${label}: ${what}: not HTTP: ${err.message}`)
        if (err.code && CONNECT_CODES.has(err.code)) return connectFailure(err, label)
        if (e instanceof undiciErrors.UndiciError)
          return new FenceError('PROTOCOL_ERROR', `${label}: ${what}: ${err.message}`)
        return new FenceError('CONNECTION_LOST', `${label}: ${what}: ${err.message ?? String(e)}`)
    }
  }

  async close(): Promise<void> {
    await this.client.destroy().catch(() => {})
  }
}

const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
])

const TLS_VERIFY = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS_CERT_ALTNAME|UNABLE_TO_GET_ISSUER/

function connectFailure(e: NodeJS.ErrnoException, label: string): FenceError {
  const code = e.code ?? ''
  if (TLS_VERIFY.test(code))
    return new FenceError(
      'INSECURE_DEVICE',
      `${label}: the certificate does not verify (${code}: ${e.message}); give caFile or fingerprint`,
    )
  if (CONNECT_CODES.has(code)) return new FenceError('DEVICE_UNREACHABLE', `${label}: ${e.message}`)
  return new FenceError('CONNECTION_LOST', `${label}: TLS connection failed: ${e.message}`)
}

function printable(s: string): string {
  const t = s.replace(/[^\x20-\x7e]/g, '.').slice(0, 60)
  return s.length > 60 ? `${t}…` : t
}
