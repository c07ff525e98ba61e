import { sleep } from '../../core/deadline.js'
import { FenceError } from '../../core/errors.js'
import type { DriverContext } from '../driver.js'
import type { ByteStream } from '../transport/byte-stream.js'
import type { Script, ScriptResult } from '../expect/expect.js'
import { ExpectLine } from '../expect/expect-line.js'

export type Run = (script: Script, params: Record<string, string>) => Promise<ScriptResult>

/** Connections turned away while the unit frees its session, waited out within one call. */
const BUSY_RETRIES = 4

/**
 * One login session per call to a network console that takes one session at a time (APC
 * MasterSwitch, WTI NPS, BayTech RPC): login (the handshake, user and password given at run
 * time, never kept in a script), the caller's scripts, logout (the `release` script, also after
 * a refusal) and hang-up. A unit that turns the connection away at once is still closing a
 * session (ours or another client's): waited out a few times within the call's deadline, as
 * cluster-glue's plugins retry their login. The password never leaves in an error.
 */
export class ConsoleSession {
  private readonly line: ExpectLine

  constructor(
    private readonly opts: {
      stream: ByteStream
      device: string
      login: Script
      scripts: readonly Script[]
      /** The logout for the console found at login. */
      release: () => Script
      credentials: () => { user: string; password: string }
      onLogin?: (r: ScriptResult) => void
      log?: DriverContext['log']
    },
  ) {
    this.line = new ExpectLine({
      stream: opts.stream,
      device: opts.device,
      handshake: opts.login,
      handshakeParams: () => opts.credentials(),
      onHandshake: opts.onLogin,
      scripts: opts.scripts,
      commandGapMs: 0,
      // no line backoff: a busy unit is paced here, and a refused login is permanent
      backoffMs: { initial: 0, max: 0 },
      log: opts.log,
    })
  }

  get label(): string {
    return this.line.label
  }

  async run<T>(signal: AbortSignal, fn: (run: Run) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.line.dialogue(signal, fn, this.opts.release)
      } catch (e) {
        const err = this.redact(e)
        if (
          !(err instanceof FenceError) ||
          err.code !== 'DEVICE_BUSY' ||
          attempt >= BUSY_RETRIES ||
          signal.aborted
        )
          throw err
        await sleep(100 * 2 ** attempt, signal)
      }
    }
  }

  private redact(e: unknown): unknown {
    const { password } = this.opts.credentials()
    if (!(e instanceof FenceError) || !password) return e
    if (!e.message.includes(password) && !JSON.stringify(e.details ?? {}).includes(password)) return e
    const scrub = (s: string) => s.split(password).join('***')
    const details = e.details
      ? (JSON.parse(scrub(JSON.stringify(e.details))) as Record<string, unknown>)
      : undefined
    return new FenceError(e.code, scrub(e.message), details)
  }

  close(): Promise<void> {
    return this.line.close()
  }
}

/**
 * After logout, wait for the unit to close the connection (the wait ends in CONNECTION_LOST, or
 * times out): the next session is only taken once this one is gone.
 */
export const UNIT_HANGS_UP = { expect: /(?!)/, name: 'the unit closing the session', optional: true }

/** What a console-switch driver is given besides its config: a stream (tests), the log. */
export interface ConsoleDriverOptions {
  stream?: ByteStream
  log?: DriverContext['log']
}
