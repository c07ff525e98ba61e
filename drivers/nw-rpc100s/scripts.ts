import { COMMAND, INVALID_ENTRY, OK } from '../../protocols/nw-rpc100s.js'
import type { LineRules, Script } from '../expect/expect.js'

/**
 * The RPC-100S dialogue as data for the expect engine (drivers/expect/expect.ts). Byte facts
 * in protocols/nw-rpc100s.ts. Every command ends in one CR, as the unit's sticker documents;
 * replies are `\r\nOK\r\n` or `\r\nInvalid Entry\r\n` (the blank line before is skipped).
 */
const REPLY: LineRules = { strict: true }

const OK_LINE = new RegExp(`^${OK}$`)
const INVALID_LINE = new RegExp(`^${INVALID_ENTRY}$`)

/**
 * The liveness probe (cluster-glue's): `//0,0,BOGUS;` is not a command, and the unit must say
 * `Invalid Entry`. It switches nothing and proves the unit reads and answers; it also clears
 * whatever half command the unit still held from an abandoned call (junk + BOGUS is still invalid).
 */
export function probeScript(phase: 'handshake' | 'expect', timeoutMs: number): Script {
  return {
    name: phase === 'handshake' ? 'probe (after open)' : 'probe',
    phase,
    params: [],
    timeoutMs,
    steps: [
      { send: `${COMMAND.probe}\r`, flushInput: true },
      // a late OK of a call abandoned before this open is skipped: the probe itself never earns one
      { expect: INVALID_LINE, name: `'${INVALID_ENTRY}'`, lines: { strict: true, ignore: [OK_LINE] } },
    ],
  }
}

/** One switching command; the unit must say `OK`. */
export function commandScript(name: 'on' | 'off' | 'cycle', command: string, timeoutMs: number): Script {
  return {
    name,
    phase: 'expect',
    params: [],
    timeoutMs,
    steps: [
      { send: `${command}\r`, flushInput: true },
      {
        expect: OK_LINE,
        name: `'${OK}'`,
        lines: REPLY,
        fail: [
          {
            // a command garbled on the line reads as junk to the unit: transient, worth a retry
            pattern: INVALID_LINE,
            code: 'PROTOCOL_ERROR',
            message: `the unit answered '${INVALID_ENTRY}' to ${command} (garbled on the line?)`,
          },
        ],
      },
    ],
  }
}
