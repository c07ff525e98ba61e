import { monotonicNow, sleep } from '../../core/deadline.js'
import { FenceError, abortError, toFenceError } from '../../core/errors.js'
import type { ByteStream } from '../transport/byte-stream.js'
import { type Script, type ScriptResult, checkScript, runScript } from './expect.js'

export interface ExpectLineOptions {
  stream: ByteStream
  /** The device id in the config: starts every error of this line. */
  device: string
  /** The driver's scripts, checked with the handshake against this stream when the line is made. */
  scripts: readonly Script[]
  /** Run after every (re)open, before the first command: a reset, a banner, a login. */
  handshake?: Script
  /** The pause the device needs between the end of one answer and the next command. */
  commandGapMs: number
  /** Reconnect backoff after a failed open or handshake: first wait, then doubling up to max. */
  backoffMs?: { initial: number; max: number }
  /** Parameters of the handshake, asked for at each (re)open (a login's user and password: never stored in a script). */
  handshakeParams?: () => Record<string, string>
  /** Called with the handshake's captures after each successful (re)open (a firmware variant, a prompt). */
  onHandshake?: (result: ScriptResult) => void
  /** Line events (ready, failed handshake) for the gateway's log. */
  log?: (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void
}

/**
 * One serial prompt device's line: opens it lazily, runs the handshake after each open, runs one
 * script at a time (FIFO; the line carries one dialogue), keeps the device's pause between
 * commands, and drops the line after any failure so that the next call starts clean (a late
 * answer to an abandoned command must never be read as the answer to the next one).
 *
 * After a failed open or handshake, further attempts are refused with DEVICE_UNREACHABLE until a
 * backoff (doubling) has passed: the engine's retries then cost nothing, and a dead device is not
 * hammered with DTR resets.
 */
export class ExpectLine {
  private queue: Promise<void> = Promise.resolve()
  private ready = false
  private failures = 0
  private nextAttemptAt = 0
  private lastFailure = ''
  private lastAnswerAt = Number.NEGATIVE_INFINITY
  private closed = false

  /** Throws CONFIG_INVALID when a script does not fit the stream: at load, not on the day of a fence. */
  constructor(private readonly opts: ExpectLineOptions) {
    const { stream, handshake, scripts, device } = opts
    const problems = [...(handshake ? [handshake] : []), ...scripts].flatMap((s) =>
      checkScript(s, { hangup: !!stream.hangup }),
    )
    if (problems.length)
      throw new FenceError(
        'CONFIG_INVALID',
        `${device}: scripts do not fit ${stream.label}: ${problems.join('; ')}`,
      )
  }

  get label(): string {
    return this.opts.stream.label
  }

  /** Run `script` with `params`, after the line is open and the device ready. Errors name the device. */
  async run(script: Script, params: Record<string, string>, signal: AbortSignal): Promise<ScriptResult> {
    try {
      return await this.runExclusive(script, params, signal)
    } catch (e) {
      if (e instanceof FenceError)
        throw new FenceError(e.code, `${this.opts.device}: ${e.message}`, e.details)
      throw e
    }
  }

  /**
   * Run several scripts as one dialogue on one session (a menu walk whose next script depends
   * on the screen before). Afterwards, when `release` is given, it is sent best-effort and the
   * line dropped: a unit that takes one session at a time must not be held between calls.
   */
  async dialogue<T>(
    signal: AbortSignal,
    fn: (run: (script: Script, params: Record<string, string>) => Promise<ScriptResult>) => Promise<T>,
    release?: () => Script | undefined,
  ): Promise<T> {
    try {
      return await this.exclusive(signal, async () => {
        await this.ensureReady(signal)
        const wait = this.lastAnswerAt + this.opts.commandGapMs - monotonicNow()
        if (wait > 0) await sleep(wait, signal)
        const run = async (script: Script, params: Record<string, string>) => {
          const r = await runScript(this.opts.stream, script, params, signal)
          this.lastAnswerAt = monotonicNow()
          return r
        }
        const bye = release?.()
        try {
          return await fn(run)
        } catch (e) {
          if (!bye) await this.drop()
          throw e
        } finally {
          // log out after a refusal too (no such outlet…): the unit's one session must be freed
          if (bye) {
            const stream = this.opts.stream
            if (!signal.aborted && stream.isOpen && !stream.rx.closed) {
              const quick = AbortSignal.any([signal, AbortSignal.timeout(bye.timeoutMs)])
              await runScript(stream, bye, {}, quick).catch(() => {})
            }
            await this.drop()
          }
        }
      })
    } catch (e) {
      if (e instanceof FenceError)
        throw new FenceError(e.code, `${this.opts.device}: ${e.message}`, e.details)
      throw e
    }
  }

  private runExclusive(script: Script, params: Record<string, string>, signal: AbortSignal) {
    return this.exclusive(signal, async () => {
      await this.ensureReady(signal)
      const wait = this.lastAnswerAt + this.opts.commandGapMs - monotonicNow()
      if (wait > 0) await sleep(wait, signal)
      try {
        const r = await runScript(this.opts.stream, script, params, signal)
        this.lastAnswerAt = monotonicNow()
        return r
      } catch (e) {
        await this.drop()
        throw e
      }
    })
  }

  private async ensureReady(signal: AbortSignal): Promise<void> {
    const stream = this.opts.stream
    if (this.ready && stream.isOpen && !stream.rx.closed) return
    if (this.closed) throw new FenceError('ENGINE_CLOSED', `${this.label}: driver closed`)
    await this.drop()
    const now = monotonicNow()
    if (now < this.nextAttemptAt)
      throw new FenceError(
        'DEVICE_UNREACHABLE',
        `${this.label}: connect: not retrying for ${Math.ceil(this.nextAttemptAt - now)}ms after: ${this.lastFailure}`,
        { phase: 'connect' },
      )
    try {
      try {
        await stream.open(signal)
      } catch (e) {
        const fe = toFenceError(e)
        if (signal.aborted) throw fe
        throw new FenceError(fe.code, fe.message.replace(`${this.label}: `, `${this.label}: connect: `), {
          phase: 'connect',
        })
      }
      if (this.opts.handshake) {
        const r = await runScript(stream, this.opts.handshake, this.opts.handshakeParams?.() ?? {}, signal)
        this.opts.onHandshake?.(r)
      }
      this.ready = true
      if (this.failures > 0) this.opts.log?.('info', 'serial line ready again', { line: this.label })
      this.failures = 0
      this.nextAttemptAt = 0
      this.lastAnswerAt = monotonicNow()
    } catch (e) {
      await this.drop()
      if (signal.aborted) throw abortError(signal)
      const fe = toFenceError(e)
      const { initial, max } = this.opts.backoffMs ?? { initial: 200, max: 5000 }
      this.failures++
      this.nextAttemptAt = monotonicNow() + Math.min(max, initial * 2 ** (this.failures - 1))
      this.lastFailure = fe.message
      this.opts.log?.('warn', 'serial line not ready', {
        line: this.label,
        error: fe.message,
        retryInMs: Math.round(this.nextAttemptAt - monotonicNow()),
      })
      throw fe
    }
  }

  /** Close the line; the next run reopens it and handshakes again. */
  async drop(): Promise<void> {
    this.ready = false
    await this.opts.stream.close()
  }

  private async exclusive<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    const prev = this.queue
    let release!: () => void
    this.queue = new Promise<void>((r) => {
      release = r
    })
    try {
      if (signal.aborted) throw abortError(signal)
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => reject(abortError(signal))
        signal.addEventListener('abort', onAbort, { once: true })
        prev.then(() => {
          signal.removeEventListener('abort', onAbort)
          resolve()
        })
      })
      return await fn()
    } finally {
      // keep FIFO order even when this caller left while queued
      prev.then(release)
    }
  }

  async close(): Promise<void> {
    this.closed = true
    await this.drop()
  }
}
