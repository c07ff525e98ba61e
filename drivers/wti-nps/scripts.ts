import { UNIT_HANGS_UP } from '../console/session.js'
import type { Script } from '../expect/expect.js'

/**
 * The WTI NPS / IPS console dialogue as data for the expect engine. Sources:
 * ../shared/reference/device-protocols.md §4, fence_wti, cluster-glue wti_nps.c.
 */

/** `NPS> `, `IPS> `, `TPS> `, `NBB> `, `MPC> `, `RSM> `, `VMR> `. */
const PROMPT = /\b(?:NPS|IPS|TPS|NBB|MPC|RSM|VMR)> ?/
/** A row of `/S`: ` 3   | node3            |   ON   | …` (fence_wti splits on `|`; cluster-glue `%d | %16c`). */
export const STATUS_ROW = /^(?<n>\d+)\s*\|\s*(?<name>[^|]*?)\s*\|\s*(?<state>ON|OFF)\s*\|/

/**
 * Log in: a login name when the unit asks one (newer firmware), then the password. `Invalid
 * password` (a wrong name shows the same) and a hang-up after failed tries are AUTH_REFUSED.
 */
export function loginScript(timeoutMs: number): Script {
  return {
    name: 'login',
    phase: 'handshake',
    params: ['user', 'password'],
    timeoutMs,
    steps: [
      {
        expect: /Password: ?/,
        name: "'Password:'",
        answer: [
          {
            pattern: /(?:Login Name: *|login: |username: |User Name :)/i,
            send: '{user}\r',
            name: 'login name prompt',
            max: 1,
          },
        ],
      },
      { send: '{password}\r' },
      {
        expect: PROMPT,
        name: "the prompt 'NPS>'",
        fail: [
          { pattern: /Invalid password/i, code: 'AUTH_REFUSED', message: 'login refused: Invalid password' },
          {
            pattern: /Too many|disconnecting/i,
            code: 'AUTH_REFUSED',
            message: 'login refused: the unit hung up after failed logins',
          },
        ],
      },
    ],
  }
}

/** `/S`: the plug table, rows collected; `Enter: ` (more) answered. */
export function statusScript(timeoutMs: number): Script {
  return {
    name: 'status',
    phase: 'expect',
    params: [],
    timeoutMs,
    steps: [
      { send: '/S\r', flushInput: true },
      {
        expect: PROMPT,
        name: "the prompt after '/S'",
        collect: { pattern: STATUS_ROW, into: 'plugs' },
        answer: [{ pattern: /\bEnter: /, send: '\r', name: 'more prompt', max: 20 }],
      },
    ],
  }
}

/**
 * `/ON n,Y`, `/OFF n,Y`, `/BOOT n,Y`: `,Y` skips the confirmation, and a `(Y/N):` that comes
 * anyway is answered. The unit says `Processing - please wait` and gives the prompt back only
 * when it can take another command.
 */
export function commandScript(name: string, verb: 'ON' | 'OFF' | 'BOOT', timeoutMs: number): Script {
  return {
    name,
    phase: 'expect',
    params: ['plug'],
    timeoutMs,
    steps: [
      { send: `/${verb} {plug},Y\r`, flushInput: true },
      {
        expect: /Processing/,
        name: "'Processing - please wait'",
        answer: [{ pattern: /\(Y\/N\): ?/, send: 'Y\r', name: 'confirmation', max: 1 }],
        fail: [
          { pattern: /Invalid Plug/i, code: 'NO_SUCH_PLUG', message: 'the unit has no such plug' },
          {
            pattern: /Invalid command|Access denied|not allowed/i,
            code: 'DEVICE_ERROR',
            message: 'the unit refused the command',
          },
        ],
      },
      { expect: PROMPT, name: 'the prompt (the unit is done)' },
    ],
  }
}

export function logoutScript(timeoutMs: number): Script {
  return {
    name: 'logout',
    phase: 'expect',
    params: [],
    timeoutMs,
    steps: [{ send: '/X,Y\r' }, UNIT_HANGS_UP],
  }
}
