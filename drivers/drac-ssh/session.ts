/**
 * One SSH connection to a DRAC with one interactive shell on it (a pty, as fence_drac5's ssh
 * asks for): commands are written as lines, answers read up to the prompt. The host key is
 * checked against a SHA-256 fingerprint before any credential is sent.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import ssh2 from 'ssh2'
import { FenceError, abortError } from '../../src/core/errors.js'

export interface SessionOptions {
  host: string
  port: number
  label: string
  user: string
  password?: string
  privateKey?: string
  passphrase?: string
  /** `SHA256:…` or `any`. */
  hostKey: string
  prompt: RegExp
  loginTimeoutMs: number
}

const MAX_OUTPUT = 64 * 1024

export function sshFingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`
}

export class DracSession {
  /** What the shell printed before its first prompt (the banner: DRAC 5 or CMC). */
  banner = ''
  private buf = ''
  private waiter: ((err?: FenceError) => void) | undefined
  private failure: FenceError | undefined

  private constructor(
    private readonly client: ssh2.Client,
    private readonly o: SessionOptions,
  ) {}

  get dead(): boolean {
    return this.failure !== undefined
  }

  static async open(o: SessionOptions, signal: AbortSignal): Promise<DracSession> {
    const client = new ssh2.Client()
    let hostKeyProblem: FenceError | undefined
    const started = Date.now()
    const ready = new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(abortError(signal))
      signal.addEventListener('abort', onAbort, { once: true })
      client.once('ready', () => {
        signal.removeEventListener('abort', onAbort)
        resolve()
      })
      client.once('error', (e: Error & { level?: string; code?: string }) => {
        signal.removeEventListener('abort', onAbort)
        reject(hostKeyProblem ?? loginFailure(e, o))
      })
      client.once('close', () =>
        reject(hostKeyProblem ?? new FenceError('CONNECTION_LOST', `${o.label}: closed during login`)),
      )
    })
    const cfg: ssh2.ConnectConfig = {
      host: o.host,
      port: o.port,
      username: o.user,
      readyTimeout: o.loginTimeoutMs,
      tryKeyboard: false,
      keepaliveInterval: 15_000,
      hostVerifier: (key: Buffer) => {
        if (o.hostKey === 'any') return true
        const got = sshFingerprint(key)
        const a = Buffer.from(got)
        const b = Buffer.from(o.hostKey)
        if (a.length === b.length && timingSafeEqual(a, b)) return true
        hostKeyProblem = new FenceError(
          'INSECURE_DEVICE',
          `${o.label}: host key mismatch: the DRAC offers ${got}, the config expects ${o.hostKey}; nothing was sent`,
        )
        return false
      },
    }
    if (o.password !== undefined) cfg.password = o.password
    if (o.privateKey !== undefined) cfg.privateKey = o.privateKey
    if (o.passphrase !== undefined) cfg.passphrase = o.passphrase
    client.on('error', () => {})
    try {
      client.connect(cfg)
    } catch (e) {
      // ssh2 throws synchronously on options it cannot use (an unreadable key): never echo them
      throw new FenceError(
        'CONFIG_INVALID',
        `${o.label}: SSH client refused its options: ${(e as Error).message.slice(0, 80)}`,
      )
    }
    try {
      await ready
    } catch (e) {
      client.destroy()
      throw e
    }
    const session = new DracSession(client, o)
    try {
      await session.startShell(signal, Math.max(50, o.loginTimeoutMs - (Date.now() - started)))
    } catch (e) {
      session.destroy()
      throw e
    }
    return session
  }

  private stream: ssh2.ClientChannel | undefined

  private async startShell(signal: AbortSignal, timeoutMs: number): Promise<void> {
    this.stream = await new Promise<ssh2.ClientChannel>((resolve, reject) =>
      this.client.shell({ term: 'vt100', cols: 200, rows: 50 }, (err, s) =>
        err
          ? reject(new FenceError('DEVICE_ERROR', `${this.o.label}: no shell: ${err.message}`))
          : resolve(s),
      ),
    )
    this.stream.on('data', (d: Buffer) => this.data(d))
    this.stream.stderr.on('data', (d: Buffer) => this.data(d))
    const gone = (why: string) => this.fail(new FenceError('CONNECTION_LOST', `${this.o.label}: ${why}`))
    this.stream.on('close', () => gone('the DRAC closed the shell'))
    this.client.on('close', () => gone('the connection was closed'))
    this.client.on('error', (e: Error) => gone(`connection error: ${e.message}`))
    this.banner = await this.untilPrompt(signal, timeoutMs, 'the first prompt')
  }

  private data(d: Buffer): void {
    this.buf += d.toString('latin1')
    if (this.buf.length > MAX_OUTPUT) {
      this.fail(
        new FenceError('PROTOCOL_ERROR', `${this.o.label}: more than ${MAX_OUTPUT} bytes without a prompt`),
      )
      return
    }
    this.waiter?.()
  }

  private fail(e: FenceError): void {
    if (this.failure) return
    this.failure = e
    this.waiter?.(e)
    this.client.destroy()
  }

  /** Resolve with the output before the prompt (CR removed), once the prompt ends the buffer. */
  private untilPrompt(signal: AbortSignal, timeoutMs: number, what: string): Promise<string> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined
      const done = (err?: FenceError) => {
        this.waiter = undefined
        clearTimeout(timer)
        signal.removeEventListener('abort', onAbort)
        if (err) reject(err)
      }
      const onAbort = () => {
        done(abortError(signal))
        this.fail(new FenceError('ABORTED', `${this.o.label}: abandoned mid-command`))
      }
      const check = (err?: FenceError) => {
        if (err) return done(err)
        const m = this.o.prompt.exec(this.buf)
        if (!m) return
        const out = this.buf.slice(0, m.index).replace(/\r/g, '')
        this.buf = ''
        done()
        resolve(out)
      }
      if (this.failure) return reject(this.failure)
      if (signal.aborted) return reject(abortError(signal))
      signal.addEventListener('abort', onAbort, { once: true })
      timer = setTimeout(() => {
        const e = new FenceError(
          'DEVICE_TIMEOUT',
          `${this.o.label}: no prompt after ${what} within ${timeoutMs} ms`,
        )
        done(e)
        this.fail(e)
      }, timeoutMs)
      this.waiter = check
      check()
    })
  }

  /** Send one command line; its output (echo removed) up to the next prompt. */
  async run(command: string, signal: AbortSignal, timeoutMs: number): Promise<string> {
    if (this.failure) throw this.failure
    this.buf = ''
    this.stream!.write(`${command}\r`)
    const out = await this.untilPrompt(signal, timeoutMs, `'${command}'`)
    const lines = out.split('\n')
    if (lines[0]?.trim() === command) lines.shift() // the terminal's echo
    return lines.join('\n').trim()
  }

  destroy(): void {
    if (!this.failure) this.failure = new FenceError('ENGINE_CLOSED', `${this.o.label}: session closed`)
    try {
      this.stream?.end('exit\r')
    } catch {}
    this.client.end()
    setTimeout(() => this.client.destroy(), 500).unref()
  }
}

function loginFailure(e: Error & { level?: string; code?: string }, o: SessionOptions): FenceError {
  if (e.level === 'client-authentication')
    return new FenceError('AUTH_REFUSED', `${o.label}: the DRAC refused user ${o.user} (${e.message})`)
  if (e.level === 'client-timeout')
    return new FenceError('DEVICE_UNREACHABLE', `${o.label}: no SSH login within ${o.loginTimeoutMs} ms`)
  if (
    e.code === 'ECONNREFUSED' ||
    e.code === 'EHOSTUNREACH' ||
    e.code === 'ENETUNREACH' ||
    e.code === 'ENOTFOUND'
  )
    return new FenceError('DEVICE_UNREACHABLE', `${o.label}: ${e.message}`)
  return new FenceError('CONNECTION_LOST', `${o.label}: SSH: ${e.message}`)
}
