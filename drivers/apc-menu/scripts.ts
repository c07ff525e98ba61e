import { UNIT_HANGS_UP } from '../console/session.js'
import type { AnswerRule, FailRule, Script } from '../expect/expect.js'

/**
 * The APC console dialogue as data for the expect engine (drivers/expect/expect.ts): the
 * login, one menu step, the outlet list, a command with its confirmation, the AOS CLI commands,
 * and the logout. Which menu item leads on is not a fixed key: it is read off the screen by its
 * label (MENU_PATH), so a firmware that moved its items ("menu drift") is walked all the same.
 * Sources: ../shared/reference/device-protocols.md §2, fence_apc, cluster-glue apcmaster.c.
 */

/** Every menu ends with a line `> `; the AOS CLI prompt is `apc>`. */
const MENU_PROMPT = /\r?\n> /
const CLI_PROMPT = /\r?\napc>/

const LOGIN_FAIL: readonly FailRule[] = [
  {
    pattern: /User Name :/,
    code: 'AUTH_REFUSED',
    message: 'login refused: the unit asked for the User Name again (wrong user or password)',
  },
  {
    pattern: /too many|locked|lockout/i,
    code: 'AUTH_REFUSED',
    message: 'login refused: the unit locked the console after failed logins',
  },
]

/** `Press <ENTER> to continue...` between pages and after a command. */
export const PAGING: AnswerRule = {
  pattern: /Press <ENTER> to continue\.\.\./,
  send: '\r',
  name: 'paging prompt',
  max: 20,
}
/** The console's confirmation before a command (a setting; on by default). */
export const CONFIRM: AnswerRule = {
  pattern: /Enter 'YES' to continue or <ENTER> to cancel :/,
  send: 'YES\r',
  name: 'confirmation',
  max: 1,
}

/** An outlet row of a menu list: `    3- node3                   ON` (fence_apc, cluster-glue `%d- %23c`). */
export const MENU_ROW = /^(?<n>\d+)- (?<name>.*?)\s+(?<state>ON|OFF)$/
/** An AOS CLI status row: ` 3: node3: On`. */
export const CLI_ROW = /^(?<n>\d+): (?<name>.*): (?<state>On|Off)$/i

/**
 * The items that lead from the Device Manager to the outlet list, best first, by label:
 * AP79xx v3 `Outlet Management` → `Outlet Control/Configuration`; v2 `Outlet
 * Control/Configuration` (admin) or `Outlet Control` (device user). The AP9211 shows the list
 * in the Device Manager itself.
 */
export const MENU_PATH: readonly RegExp[] = [
  /^\s*(?<key>\d+)- Outlet Control\/Configuration\s*$/m,
  /^\s*(?<key>\d+)- Outlet Management\s*$/m,
  /^\s*(?<key>\d+)- Outlet Control\s*$/m,
]
/** From an outlet's menu to its commands. */
export const CONTROL_OUTLET = /^\s*(?<key>\d+)- Control Outlet\s*$/m
/** The command of each action, by label on the Control Outlet menu. */
export const ACTION_LABEL = {
  on: /^\s*(?<key>\d+)- Immediate On\s*$/m,
  off: /^\s*(?<key>\d+)- Immediate Off\s*$/m,
  cycle: /^\s*(?<key>\d+)- Immediate Reboot\s*$/m,
  cancel: /^\s*(?<key>\d+)- Cancel(?: Pending)?\s*$/m,
} as const

/**
 * Log in. The unit asks `User Name : ` and `Password  : ` (AP79xx with a bare CR first); a
 * wrong pair brings `User Name :` back, a lockout closes the console: both are permanent
 * (AUTH_REFUSED), never retried into a longer lockout. The prompt that follows tells the
 * console: `> ` is the menu firmware, `apc>` the AOS v5–7 command line.
 */
export function loginScript(timeoutMs: number): Script {
  return {
    name: 'login',
    phase: 'handshake',
    params: ['user', 'password'],
    timeoutMs,
    steps: [
      { expect: /User Name : ?/, name: "'User Name :'" },
      { send: '{user}\r', flushInput: true },
      { expect: /Password\s*: ?/, name: "'Password :'", fail: LOGIN_FAIL.slice(1) },
      { send: '{password}\r' },
      {
        expect: /(?<banner>[\s\S]*?)(?<prompt>\r?\n> |\r?\napc>)/,
        name: 'the first prompt after login',
        fail: LOGIN_FAIL,
      },
    ],
  }
}

/**
 * Over SSH the unit checked the user and password itself: the console opens at once, and the
 * first prompt tells which one it is.
 */
export function sshLoginScript(timeoutMs: number): Script {
  return {
    name: 'login',
    phase: 'handshake',
    params: ['user', 'password'],
    timeoutMs,
    steps: [
      { expect: /(?<banner>[\s\S]*?)(?<prompt>\r?\n> |\r?\napc>)/, name: 'the first prompt after login' },
    ],
  }
}

/** Type a menu key and read the screen it leads to; outlet rows are collected, pages turned. */
export function menuStep(timeoutMs: number): Script {
  return {
    name: 'menu',
    phase: 'expect',
    params: ['key'],
    timeoutMs,
    steps: [
      { send: '{key}\r' },
      {
        expect: /(?<screen>[\s\S]*?)\r?\n> /,
        name: "the menu prompt '> '",
        collect: { pattern: MENU_ROW, into: 'outlets' },
        answer: [PAGING],
      },
    ],
  }
}

/**
 * Give a command on the Control Outlet menu: its key, then the confirmation (`YES`) if the
 * console asks, then `Press <ENTER> to continue...`, then the menu again. A console that shows
 * neither the confirmation nor the continue prompt did not take the command.
 */
export function menuCommand(timeoutMs: number): Script {
  return {
    name: 'command',
    phase: 'expect',
    params: ['key'],
    timeoutMs,
    steps: [
      { send: '{key}\r' },
      {
        expect: /Press <ENTER> to continue\.\.\./,
        name: "'Press <ENTER> to continue...'",
        answer: [CONFIRM],
        fail: [
          { pattern: MENU_PROMPT, code: 'DEVICE_ERROR', message: 'the console did not take the command' },
        ],
      },
      { send: '\r' },
      { expect: MENU_PROMPT, name: "the menu prompt '> '" },
    ],
  }
}

/** An AOS CLI command: the first line of the reply is its result code (`E000: Success`). */
export function cliCommand(name: string, command: string, timeoutMs: number): Script {
  return {
    name,
    phase: 'expect',
    params: ['plug'],
    timeoutMs,
    steps: [
      { send: `${command}\r`, flushInput: true },
      { expect: /(?<code>E\d{3}): ?(?<text>[^\r\n]*)/, name: 'a result code (E000: Success)' },
      { expect: CLI_PROMPT, name: "the prompt 'apc>'", collect: { pattern: CLI_ROW, into: 'outlets' } },
    ],
  }
}

/** Leave the menus (ESC up to the main menu, six levels at most, `4` Logout); best effort, the line is dropped after. */
export function menuLogout(timeoutMs: number): Script {
  const up = [1, 2, 3, 4, 5, 6].flatMap(() => [
    { send: '\x1b' },
    { expect: MENU_PROMPT, name: "'> '", timeoutMs: Math.max(50, timeoutMs / 8), optional: true },
  ])
  return {
    name: 'logout',
    phase: 'expect',
    params: [],
    timeoutMs,
    steps: [...up, { send: '4\r' }, UNIT_HANGS_UP],
  }
}

export function cliLogout(timeoutMs: number): Script {
  return {
    name: 'logout',
    phase: 'expect',
    params: [],
    timeoutMs,
    steps: [{ send: 'exit\r' }, UNIT_HANGS_UP],
  }
}

/** AOS result codes that mean success (`E000: Success`, `E001: Successfully Issued`). */
export const CLI_OK = /^E00[01]$/
