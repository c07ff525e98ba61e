import { ConsoleSwitchDriver, type ConsoleSwitchModel } from '../console/switch-driver.js'
import type { ConsoleDriverOptions } from '../console/session.js'
import type { BaytechConfig } from './options.js'
import { commandScript, loginScript, logoutScript, statusScript } from './scripts.js'

const VERB = { on: 'ON', off: 'OFF', cycle: 'REBOOT' } as const

/**
 * BayTech RPC power controllers over their telnet console: one session per call (login, Outlet
 * Control, `STATUS` or `ON n` / `OFF n` / `REBOOT n`, `MENU`, `6`). Plug ids are outlet numbers
 * from 1: `0` is every outlet on a BayTech, refused as is anything but an outlet number.
 */
export const BAYTECH: ConsoleSwitchModel = {
  kind: 'baytech',
  login: loginScript,
  status: statusScript,
  rows: 'outlets',
  command: (action, timeoutMs) => commandScript(action, VERB[action], timeoutMs),
  logout: logoutScript,
  plug: { pattern: /^[1-9]\d{0,2}$/, noun: 'outlet', hint: 'outlets are numbers from 1' },
  // STATUS pads the number to 7 columns; a leading zero is not part of the id
  plugId: (n) => String(Number(n)),
}

export class BaytechDriver extends ConsoleSwitchDriver {
  constructor(cfg: BaytechConfig, deviceId: string, password: string, opts: ConsoleDriverOptions = {}) {
    super(BAYTECH, cfg, deviceId, password, opts)
  }
}
