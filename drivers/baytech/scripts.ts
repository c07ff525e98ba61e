import { UNIT_HANGS_UP } from '../console/session.js'
import type { Script } from '../expect/expect.js'

/**
 * The BayTech RPC console dialogue as data for the expect engine. Sources:
 * ../shared/reference/device-protocols.md §6, cluster-glue baytech.c, powerman's baytech.dev.
 */

const SELECTION = /Selection> ?/
/** The Outlet Control prompt: `RPC-5>`, `RPC-3>`, `RPC-22>`. */
const OUTLET_PROMPT = /\bRPC[-\w]*> ?/
/** A STATUS row: `      3       node3               On` (cluster-glue: `%7d`, the name at column 14). */
export const STATUS_ROW = /^(?<n>\d+)\s+(?<name>.*?)\s+(?<state>On|Off)$/i

/**
 * Log in and open Outlet Control: `username>`, `password>`, the main menu (`Enter
 * Selection>`), `1`. A second `username>` (wrong user) or `Invalid password` is AUTH_REFUSED.
 */
export function loginScript(timeoutMs: number): Script {
  return {
    name: 'login',
    phase: 'handshake',
    params: ['user', 'password'],
    timeoutMs,
    steps: [
      { expect: /username> ?/, name: "'username>'" },
      { send: '{user}\r', flushInput: true },
      {
        expect: /password> ?/,
        name: "'password>'",
        fail: [
          {
            pattern: /username>/,
            code: 'AUTH_REFUSED',
            message: 'login refused: the unit asked for the username again',
          },
        ],
      },
      { send: '{password}\r' },
      {
        expect: SELECTION,
        name: "the main menu's 'Enter Selection>'",
        fail: [
          { pattern: /Invalid password/i, code: 'AUTH_REFUSED', message: 'login refused: Invalid password' },
          {
            pattern: /username>/,
            code: 'AUTH_REFUSED',
            message: 'login refused: the unit asked for the username again',
          },
        ],
      },
      { send: '1\r' },
      { expect: OUTLET_PROMPT, name: "the Outlet Control prompt 'RPC-x>'" },
    ],
  }
}

/** `STATUS`: the rows after the power and temperature lines. */
export function statusScript(timeoutMs: number): Script {
  return {
    name: 'status',
    phase: 'expect',
    params: [],
    timeoutMs,
    steps: [
      { send: 'STATUS\r', flushInput: true },
      {
        expect: OUTLET_PROMPT,
        name: "the prompt after 'STATUS'",
        collect: { pattern: STATUS_ROW, into: 'outlets' },
      },
    ],
  }
}

/** `ON n`, `OFF n`, `REBOOT n`; `(Y/N)>` answered `Y`; the prompt comes back when the unit is done. */
export function commandScript(name: string, verb: 'ON' | 'OFF' | 'REBOOT', timeoutMs: number): Script {
  return {
    name,
    phase: 'expect',
    params: ['plug'],
    timeoutMs,
    steps: [
      { send: `${verb} {plug}\r`, flushInput: true },
      {
        expect: OUTLET_PROMPT,
        name: 'the prompt (the unit is done)',
        answer: [{ pattern: /\(Y\/N\)> ?/, send: 'Y\r', name: 'confirmation', max: 1 }],
        fail: [
          {
            pattern: /Invalid outlet|not found/i,
            code: 'NO_SUCH_PLUG',
            message: 'the unit has no such outlet',
          },
          {
            pattern: /Input error|Invalid command|denied/i,
            code: 'DEVICE_ERROR',
            message: 'the unit refused the command',
          },
        ],
      },
    ],
  }
}

/** `MENU`, then `6` (Logout) at `Enter Selection>`. */
export function logoutScript(timeoutMs: number): Script {
  return {
    name: 'logout',
    phase: 'expect',
    params: [],
    timeoutMs,
    steps: [
      { send: 'MENU\r' },
      {
        expect: SELECTION,
        name: "'Enter Selection>'",
        timeoutMs: Math.max(50, timeoutMs / 2),
        optional: true,
      },
      { send: '6\r' },
      UNIT_HANGS_UP,
    ],
  }
}
