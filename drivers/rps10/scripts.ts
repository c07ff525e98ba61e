import {
  type Address,
  READY,
  type ReplyCheck,
  type ReplyLine,
  type Unit,
  checkReply,
} from '../../protocols/rps10.js'
import type { LineRules, Script, ScriptResult } from '../expect/expect.js'

/**
 * The RPS-10 dialogue as data for the expect engine (drivers/expect/expect.ts). The byte-level
 * facts (password, commands, reply grammar) live in protocols/rps10.ts, shared with the mock.
 */

const PASSWORD = '\x02\x18\x18\x02\x18\x18'
const PLUG_LINE = /^Plug (?<unit>[0-9]) (?<state>On|Off)$/
const COMPLETE = /^Complete$/
const BANNER = /RPS-10 Ready/

/**
 * Reply lines: `Plug N On|Off` lines are collected until `Complete`. A banner (the unit reset its
 * serial interface) is skipped; anything else is a garbled reply and fails at once.
 */
const REPLY: LineRules = { strict: true, ignore: [/^RPS-10 Ready$/] }

export type Rps10Cmd = '0' | '1' | 'T' | '?'

/** One command to one address and its reply. */
export function commandScript(name: string, cmd: Rps10Cmd, timeoutMs: number): Script {
  return {
    name,
    phase: 'expect',
    params: ['address'],
    timeoutMs,
    steps: [
      { send: `${PASSWORD}{address}${cmd}\r`, flushInput: true },
      { expect: COMPLETE, name: 'Complete', lines: REPLY, collect: { pattern: PLUG_LINE, into: 'plugs' } },
    ],
  }
}

/**
 * The reset handshake on a local tty: drop DTR (B0) for `lowMs`, raise it, wait for the banner.
 * cluster-glue holds DTR low 2 s and waits 12 s ("typically 5–10 s"; silence usually means a
 * cable without the modem lines).
 */
export function dtrHandshake(lowMs: number, readyTimeoutMs: number): Script {
  return {
    name: 'DTR reset',
    phase: 'handshake',
    params: [],
    timeoutMs: lowMs + readyTimeoutMs + 1000,
    steps: [
      { hangup: lowMs, flushInput: true },
      { expect: BANNER, name: `'${READY}'`, timeoutMs: readyTimeoutMs },
    ],
  }
}

/** Wait for the banner a unit prints when the line is opened (DTR raised by the terminal server). */
export function bannerHandshake(readyTimeoutMs: number): Script {
  return {
    name: 'banner',
    phase: 'handshake',
    params: [],
    timeoutMs: readyTimeoutMs + 1000,
    steps: [{ expect: BANNER, name: `'${READY}'`, timeoutMs: readyTimeoutMs }],
  }
}

/**
 * No reset possible (a raw TCP stream carries no modem lines): give a banner from a port the
 * terminal server just opened `settleMs` to arrive, then start; its absence is not an error.
 */
export function settleHandshake(settleMs: number): Script {
  return {
    name: 'settle',
    phase: 'handshake',
    params: [],
    timeoutMs: settleMs + 1000,
    steps: [{ expect: BANNER, name: `'${READY}'`, timeoutMs: settleMs, optional: true }],
  }
}

/** Judge what a command script collected against the request (protocols/rps10.ts checkReply). */
export function judgeReply(address: Address, cmd: Rps10Cmd, result: ScriptResult): ReplyCheck {
  const lines: ReplyLine[] = (result.lists.plugs ?? []).map((p) => ({
    kind: 'plug',
    unit: p.unit as Unit,
    state: p.state === 'On' ? 'on' : 'off',
  }))
  return checkReply(address, cmd, lines)
}
