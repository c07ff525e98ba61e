import { CMD } from '../../protocols/apc-smart.js'
import type { LineRules, Script, Step } from '../expect/expect.js'

/**
 * The APC Smart-UPS dialogue as data for the expect engine. Byte facts in protocols/apc-smart.ts.
 * Every command is preceded by `Y` (smart mode), as cluster-glue and NUT do: a UPS that fell back
 * to dumb mode (after a power event) ignores everything else.
 */
const REPLY: LineRules = { strict: true }

export interface SmartUpsTiming {
  /** Between the bytes of a command (cluster-glue: 50 ms; the firmware drops typed-ahead bytes). */
  charDelayMs: number
  /** Between the two sends of `Z` / ^N (NUT: at least 1.5 s; cluster-glue waits 2 s). */
  repeatGapMs: number
  /** Longest wait for one reply (cluster-glue: 3 s). */
  replyTimeoutMs: number
}

const smart = (t: SmartUpsTiming): Step[] => [
  { send: CMD.smartMode, flushInput: true },
  { expect: /^SM$/, name: 'SM', lines: REPLY, timeoutMs: t.replyTimeoutMs },
]

/** Register 1 (`~`): two hex digits; bit 0x40 = load off. */
export function statusScript(t: SmartUpsTiming): Script {
  return {
    name: 'status',
    phase: 'expect',
    params: [],
    timeoutMs: 3 * t.replyTimeoutMs,
    steps: [
      ...smart(t),
      { send: CMD.register1, flushInput: true },
      { expect: /^(?<reg>[0-9A-Fa-f]{2})$/, name: 'register 1', lines: REPLY, timeoutMs: t.replyTimeoutMs },
    ],
  }
}

/** Load off (`Z`) or on (^N): sent twice, `repeatGap` apart; an `OK` after `Z` is taken if it comes. */
export function loadScript(name: 'on' | 'off', t: SmartUpsTiming): Script {
  const cmd = name === 'off' ? CMD.loadOff : CMD.loadOn
  return {
    name,
    phase: 'expect',
    params: [],
    timeoutMs: 3 * t.replyTimeoutMs + t.repeatGapMs,
    steps: [
      ...smart(t),
      { send: cmd, flushInput: true },
      { delay: t.repeatGapMs },
      { send: cmd },
      // the UPS answers the second Z (OK); ^N has no answer, so nothing is awaited for on
      ...(name === 'off'
        ? [{ expect: /^(OK|\*)$/, name: 'OK', lines: REPLY, timeoutMs: 500, optional: true }]
        : []),
    ],
  }
}

/** The UPS's own shutdown-and-return (`@000`): an operator's cycle only, never a fence. */
export function cycleScript(t: SmartUpsTiming): Script {
  return {
    name: 'cycle',
    phase: 'expect',
    params: [],
    timeoutMs: 3 * t.replyTimeoutMs,
    steps: [
      ...smart(t),
      { send: CMD.shutdownReturn, flushInput: true, charDelayMs: t.charDelayMs },
      {
        // raw mode: old models answer a lone `*` with no line end
        expect: /OK\r?\n|\*/,
        name: 'OK',
        timeoutMs: t.replyTimeoutMs,
        fail: [
          {
            pattern: /NA\r?\n/,
            code: 'DEVICE_BUSY',
            message: 'the UPS refused the reset (NA: load off or busy)',
          },
        ],
      },
    ],
  }
}

/** After each (re)open: the UPS must answer smart mode. */
export function handshakeScript(t: SmartUpsTiming): Script {
  return {
    name: 'smart mode',
    phase: 'handshake',
    params: [],
    timeoutMs: 2 * t.replyTimeoutMs,
    steps: smart(t),
  }
}
