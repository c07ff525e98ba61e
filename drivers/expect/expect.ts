import { monotonicNow, sleep } from '../../core/deadline.js'
import { type ErrorCode, FenceError, abortError } from '../../core/errors.js'
import type { ByteStream } from '../transport/byte-stream.js'

/**
 * The expect engine for serial and telnet prompt devices (the powerman idea, typed): a device's
 * dialogue is data — a script of `send`, `expect` and `delay` steps — checked when the driver
 * loads and run by one engine that owns timeouts, captures and error reporting.
 *
 * - `send` is a template: `{name}` is replaced by the script parameter `name`, or by the named
 *   group `name` of an earlier `expect` of the same script (a menu key read off the screen).
 * - `expect` waits for a pattern. In line mode (`lines`) it judges whole lines: a line that
 *   matches `collect` is captured and the wait goes on, one that matches `ignore` is skipped, and
 *   any other line is a protocol error at once when `strict` (no waiting for a timeout on a
 *   garbled reply). Otherwise it searches the raw input, as a telnet prompt has no line end.
 *   Named groups are the captures. `fail` patterns turn a device's refusal into a typed error.
 *   In raw mode, `answer` rules reply to a prompt that comes before the expected text (a paging
 *   `Press <ENTER> to continue...`, a `YES` confirmation) and the wait goes on; `collect` then
 *   judges every line of what was consumed (a menu's outlet rows, page after page).
 * - `delay` waits; `hangup` drops DTR on a local tty (the RPS-10 reset).
 *
 * One timeout covers the whole script; a step may have a shorter one. Every error says the phase
 * (connect, handshake, expect), the step, and quotes what the device sent.
 */

export type Phase = 'connect' | 'handshake' | 'expect'

export interface FailRule {
  pattern: RegExp
  code: ErrorCode
  message: string
}

export interface LineRules {
  /** A line that is neither expected, collected nor ignored is a protocol error at once. */
  strict: boolean
  /** Lines to skip (banners, blank lines are always skipped). */
  ignore?: readonly RegExp[]
}

export interface SendStep {
  send: string
  /** Drop unread input first (stale answers to an abandoned command). */
  flushInput?: boolean
  /** Write one byte at a time this far apart (APC Smart-UPS firmware loses typed-ahead bytes). */
  charDelayMs?: number
}

/** A prompt answered while waiting (raw mode): its text is consumed and `send` written. */
export interface AnswerRule {
  pattern: RegExp
  /** A template, as in `send`. */
  send: string
  /** For errors: `paging prompt`. */
  name: string
  /** How often it may come within one wait (default 50): a prompt that never ends is an error. */
  max?: number
}

export interface ExpectStep {
  expect: RegExp
  /** How errors name this wait (`Complete`, `RPS-10 Ready`). */
  name: string
  timeoutMs?: number
  /** A timed-out optional wait is not an error (a banner that may or may not come). */
  optional?: boolean
  lines?: LineRules
  /** Lines to capture while waiting: each match's named groups go to `lists[into]`. */
  collect?: { pattern: RegExp; into: string }
  fail?: readonly FailRule[]
  /** Raw mode only: prompts to answer on the way (see AnswerRule). */
  answer?: readonly AnswerRule[]
}

export interface DelayStep {
  delay: number
}

export interface HangupStep {
  /** Keep DTR low this long. */
  hangup: number
  /** Drop what arrived before the line came back up (a banner from an earlier DTR edge). */
  flushInput?: boolean
}

export type Step = SendStep | ExpectStep | DelayStep | HangupStep

export interface Script {
  /** For errors: `status`, `off`, `handshake`. */
  name: string
  phase: Exclude<Phase, 'connect'>
  /** Names a `send` template may use. */
  params: readonly string[]
  steps: readonly Step[]
  /** Over the whole script. */
  timeoutMs: number
}

export interface ScriptResult {
  /** Named groups of every `expect` match, later ones winning. */
  vars: Record<string, string>
  /** `collect` captures, in arrival order. */
  lists: Record<string, Record<string, string>[]>
  /** What the device sent during the script, for logs (bounded). */
  transcript: string
}

/** What a transport can do, for checking scripts against it. */
export interface Capabilities {
  hangup: boolean
}

/**
 * Check a script when the driver loads: templates name only declared parameters, patterns are
 * sane, timeouts positive, a `hangup` only where the transport has modem lines. Returns the
 * problems (empty = fine); a driver turns them into a load error.
 */
export function checkScript(script: Script, caps: Capabilities): string[] {
  const problems: string[] = []
  const at = (i: number, msg: string) => problems.push(`script ${script.name}, step ${i + 1}: ${msg}`)
  if (!(script.timeoutMs > 0)) problems.push(`script ${script.name}: timeoutMs must be positive`)
  if (script.steps.length === 0) problems.push(`script ${script.name}: no steps`)
  const captured = new Set<string>()
  const groups = (r: RegExp) => [...r.source.matchAll(/\(\?<(\w+)>/g)].map((m) => m[1]!)
  const templateOk = (i: number, t: string, what: string) => {
    for (const m of t.matchAll(/\{([^}]*)\}/g))
      if (!script.params.includes(m[1]!) && !captured.has(m[1]!))
        at(i, `${what} uses {${m[1]}}, neither a parameter nor a capture of an earlier expect`)
  }
  for (const [i, step] of script.steps.entries()) {
    const keys = ['send', 'expect', 'delay', 'hangup'].filter((k) => k in step)
    if (keys.length !== 1) {
      at(i, `expected exactly one of send, expect, delay, hangup; got ${keys.join(', ')}`)
      continue
    }
    if ('send' in step) {
      if (typeof step.send !== 'string' || step.send === '') {
        at(i, 'send needs a non-empty string')
        continue
      }
      if (step.charDelayMs !== undefined && !(step.charDelayMs >= 0)) at(i, 'charDelayMs must be 0 or more')
      templateOk(i, step.send, 'send')
    } else if ('expect' in step) {
      if (!(step.expect instanceof RegExp)) {
        at(i, 'expect needs a RegExp')
        continue
      }
      if (step.expect.global || step.expect.sticky) at(i, 'expect patterns must not be global or sticky')
      if (step.expect.test('')) at(i, `expect ${step.expect} matches empty input`)
      if (step.timeoutMs !== undefined && !(step.timeoutMs > 0)) at(i, 'timeoutMs must be positive')
      if (step.answer && step.lines) at(i, 'answer works in raw mode only (no lines)')
      for (const a of step.answer ?? []) {
        if (!(a.pattern instanceof RegExp) || a.pattern.global || a.pattern.sticky || a.pattern.test(''))
          at(i, `answer ${a.name}: a non-global pattern that does not match empty input`)
        templateOk(i, a.send, `answer ${a.name}`)
      }
      if (step.collect && !/\(\?<\w+>/.test(step.collect.pattern.source))
        at(i, 'collect pattern has no named group to capture')
      for (const g of groups(step.expect)) captured.add(g)
    } else if ('delay' in step) {
      if (!(step.delay >= 0) || step.delay > script.timeoutMs) at(i, 'delay must be within 0…timeoutMs')
    } else if ('hangup' in step) {
      if (!caps.hangup) at(i, 'hangup needs modem lines: a local tty, not a TCP terminal server')
      if (!(step.hangup > 0)) at(i, 'hangup must be positive')
    }
  }
  return problems
}

/** Fill a send template. */
export function render(template: string, params: Record<string, string>): string {
  return template.replace(/\{([^}]*)\}/g, (_, k: string) => {
    const v = params[k]
    if (v === undefined) throw new FenceError('INTERNAL', `script parameter {${k}} missing`)
    return v
  })
}

/** Quote device output for an error: the tail (the most recent bytes matter), control bytes escaped. */
export function quoteReceived(text: string, max = 120): string {
  if (text === '') return 'nothing'
  const tail = text.length > max ? `…${text.slice(-max)}` : text
  return JSON.stringify(tail)
}

/** The error of a script: the phase, the script, the step, what was received. */
export function scriptError(
  code: ErrorCode,
  label: string,
  phase: Phase,
  what: string,
  received: string,
): FenceError {
  return new FenceError(code, `${label}: ${phase}: ${what}; received ${quoteReceived(received)}`, {
    phase,
    received: received.slice(-200),
  })
}

/**
 * Run a script over an open stream. Resolves with the captures; rejects with a FenceError that
 * names the phase. Aborting `signal` rejects at once (the caller then drops the line: whatever
 * comes next would be the stale end of this dialogue).
 */
export async function runScript(
  stream: ByteStream,
  script: Script,
  params: Record<string, string>,
  signal: AbortSignal,
): Promise<ScriptResult> {
  const label = stream.label
  const result: ScriptResult = { vars: {}, lists: {}, transcript: '' }
  const whole = AbortSignal.timeout(script.timeoutMs)
  const scriptSignal = AbortSignal.any([signal, whole])
  const rx = stream.rx
  let consumed = ''
  const note = (s: string) => {
    consumed = (consumed + s).slice(-2000)
  }
  /** Everything received during the script, judged or not (a half line included). */
  const received = () => (consumed + rx.content).slice(-2000)
  for (const step of script.steps) {
    if ('send' in step) {
      if (step.flushInput) rx.flush()
      const bytes = Buffer.from(render(step.send, { ...params, ...result.vars }), 'latin1')
      if (!step.charDelayMs) await guard(stream.write(bytes, scriptSignal))
      else
        for (let i = 0; i < bytes.length; i++) {
          if (i > 0) await guard(sleep(step.charDelayMs, scriptSignal))
          await guard(stream.write(bytes.subarray(i, i + 1), scriptSignal))
        }
    } else if ('delay' in step) {
      await guard(sleep(step.delay, scriptSignal))
    } else if ('hangup' in step) {
      if (!stream.hangup)
        throw scriptError(
          'UNSUPPORTED_ACTION',
          label,
          script.phase,
          `${script.name}: no modem lines on ${stream.transport}`,
          '',
        )
      await guard(stream.hangup(step.hangup, scriptSignal))
      if (step.flushInput) rx.flush()
    } else {
      await guard(expectStep(step))
    }
  }
  result.transcript = consumed
  return result

  async function guard<T>(p: Promise<T>): Promise<T> {
    try {
      return await p
    } catch (e) {
      if (signal.aborted) throw abortError(signal)
      if (whole.aborted)
        throw scriptError(
          'DEVICE_TIMEOUT',
          label,
          script.phase,
          `${script.name}: no complete answer within ${script.timeoutMs}ms`,
          received(),
        )
      throw e
    }
  }

  async function expectStep(step: ExpectStep): Promise<void> {
    const stepTimer = step.timeoutMs !== undefined ? AbortSignal.timeout(step.timeoutMs) : undefined
    const waitSignal = stepTimer ? AbortSignal.any([scriptSignal, stepTimer]) : scriptSignal
    const started = monotonicNow()
    const answered = new Map<AnswerRule, number>()
    for (;;) {
      const r = match(step)
      if (r === true) return
      if (r) {
        const n = (answered.get(r) ?? 0) + 1
        answered.set(r, n)
        if (n > (r.max ?? 50))
          throw scriptError(
            'PROTOCOL_ERROR',
            label,
            script.phase,
            `${script.name}: ${r.name} came ${n} times while waiting for ${step.name}`,
            received(),
          )
        await guard(
          stream.write(Buffer.from(render(r.send, { ...params, ...result.vars }), 'latin1'), waitSignal),
        )
        continue
      }
      try {
        await rx.next(waitSignal)
      } catch (e) {
        if (stepTimer?.aborted && !scriptSignal.aborted) {
          if (step.optional) return
          throw scriptError(
            'DEVICE_TIMEOUT',
            label,
            script.phase,
            `${script.name}: expected ${step.name} within ${Math.round(monotonicNow() - started)}ms`,
            received(),
          )
        }
        if (whole.aborted && !signal.aborted && step.optional) return
        if (e instanceof FenceError && e.code === 'CONNECTION_LOST')
          throw scriptError(
            'CONNECTION_LOST',
            label,
            script.phase,
            `${script.name}: ${e.message}`,
            received(),
          )
        throw e
      }
    }
  }

  /** Raw mode: judge every line of consumed text against `collect`. */
  function collectRaw(step: ExpectStep, text: string): void {
    if (!step.collect) return
    for (const line of text.split(/\r\n|\n|\r/)) {
      const c = step.collect.pattern.exec(line.trim())
      if (!c) continue
      const list = result.lists[step.collect.into] ?? []
      list.push({ ...(c.groups ?? {}) })
      result.lists[step.collect.into] = list
    }
  }

  /**
   * Try to satisfy the step from what is buffered; consumes what it judged. Returns true when
   * the step is done, an answer rule when a prompt on the way wants its reply, false to wait on.
   */
  function match(step: ExpectStep): boolean | AnswerRule {
    if (!step.lines) {
      const text = rx.content
      for (const f of step.fail ?? [])
        if (f.pattern.test(text)) {
          note(text)
          rx.consume(text.length)
          throw scriptError(f.code, label, script.phase, `${script.name}: ${f.message}`, received())
        }
      const m = step.expect.exec(text)
      let first: { rule: AnswerRule; m: RegExpExecArray } | undefined
      for (const rule of step.answer ?? []) {
        const am = rule.pattern.exec(text)
        if (am && (!first || am.index < first.m.index)) first = { rule, m: am }
      }
      if (first && (!m || first.m.index < m.index)) {
        const end = first.m.index + first.m[0].length
        collectRaw(step, text.slice(0, end))
        note(text.slice(0, end))
        rx.consume(end)
        return first.rule
      }
      if (!m) return false
      const end = m.index + m[0].length
      collectRaw(step, text.slice(0, end))
      note(text.slice(0, end))
      rx.consume(end)
      Object.assign(result.vars, m.groups ?? {})
      return true
    }
    // line mode: judge each complete line; a half line waits for its end
    for (;;) {
      const text = rx.content
      const nl = text.search(/[\r\n]/)
      if (nl < 0) return false
      const line = text.slice(0, nl)
      let end = nl + 1
      while (end < text.length && (text[end] === '\r' || text[end] === '\n')) end++
      note(text.slice(0, end))
      rx.consume(end)
      const trimmed = line.trim()
      if (trimmed === '') continue
      const m = step.expect.exec(trimmed)
      if (m) {
        Object.assign(result.vars, m.groups ?? {})
        return true
      }
      const c = step.collect?.pattern.exec(trimmed)
      if (c && step.collect) {
        const list = result.lists[step.collect.into] ?? []
        list.push({ ...(c.groups ?? {}) })
        result.lists[step.collect.into] = list
        continue
      }
      for (const f of step.fail ?? [])
        if (f.pattern.test(trimmed))
          throw scriptError(f.code, label, script.phase, `${script.name}: ${f.message}`, received())
      if (step.lines.ignore?.some((r) => r.test(trimmed))) continue
      if (step.lines.strict)
        throw scriptError(
          'PROTOCOL_ERROR',
          label,
          script.phase,
          `${script.name}: unexpected line ${JSON.stringify(trimmed.slice(0, 80))} while waiting for ${step.name}`,
          received(),
        )
    }
  }
}
