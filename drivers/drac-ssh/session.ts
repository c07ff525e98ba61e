/**
 * One SSH connection to a DRAC with one interactive shell on it (a pty, as fence_drac5's ssh
 * asks for; opened by the SSH transport's openSshShell, which checks the host key against a
 * SHA-256 fingerprint before any credential is sent): commands are written as lines, answers
 * read up to the prompt.
 */
import type ssh2 from 'ssh2'
import { FenceError, abortError } from '../../core/errors.js'
import { type SshLogin, openSshShell } from '../transport/ssh-stream.js'

/** Where and how to log in (the SSH transport's SshLogin), the prompt, and the login's deadline. */
export interface SessionOptions extends Omit<SshLogin, 'timeoutMs' | 'pty' | 'keepaliveMs'> {
  prompt: RegExp
  /** TCP connect + SSH handshake + login + first prompt. */
  loginTimeoutMs: number
}

const MAX_OUTPUT = 64 * 1024

export class DracSession {
  /** What the shell printed before its first prompt (the banner: DRAC 5 or CMC). */
  banner = ''
  private buf = ''
  private waiter: ((err?: FenceError) => void) | undefined
  private failure: FenceError | undefined

  private constructor(
    private readonly client: ssh2.Client,
    private readonly stream: ssh2.ClientChannel,
    private readonly o: SessionOptions,
  ) {
    stream.on('data', (d: Buffer) => this.data(d))
    stream.stderr.on('data', (d: Buffer) => this.data(d))
    const gone = (why: string) => this.fail(new FenceError('CONNECTION_LOST', `${o.label}: ${why}`))
    stream.on('close', () => gone('the DRAC closed the shell'))
    client.on('close', () => gone('the connection was closed'))
    client.on('error', (e: Error) => gone(`connection error: ${e.message}`))
  }

  get dead(): boolean {
    return this.failure !== undefined
  }

  static async open(o: SessionOptions, signal: AbortSignal): Promise<DracSession> {
    const started = Date.now()
    const { client, channel } = await openSshShell(
      // a wide terminal: racadm's lines are not wrapped; the session is kept between calls
      { ...o, timeoutMs: o.loginTimeoutMs, pty: { cols: 200, rows: 50 }, keepaliveMs: 15_000 },
      signal,
    )
    const session = new DracSession(client, channel, o)
    try {
      session.banner = await session.untilPrompt(
        signal,
        Math.max(50, o.loginTimeoutMs - (Date.now() - started)),
        'the first prompt',
      )
    } catch (e) {
      session.destroy()
      throw e
    }
    return session
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
    this.stream.write(`${command}\r`)
    const out = await this.untilPrompt(signal, timeoutMs, `'${command}'`)
    const lines = out.split('\n')
    if (lines[0]?.trim() === command) lines.shift() // the terminal's echo
    return lines.join('\n').trim()
  }

  destroy(): void {
    if (!this.failure) this.failure = new FenceError('ENGINE_CLOSED', `${this.o.label}: session closed`)
    try {
      this.stream.end('exit\r')
    } catch {}
    this.client.end()
    setTimeout(() => this.client.destroy(), 500).unref()
  }
}
