import { ConsoleSwitchDriver, type ConsoleSwitchModel } from '../console/switch-driver.js'
import type { ConsoleDriverOptions } from '../console/session.js'
import type { WtiNpsConfig } from './options.js'
import { commandScript, loginScript, logoutScript, statusScript } from './scripts.js'

const VERB = { on: 'ON', off: 'OFF', cycle: 'BOOT' } as const

/**
 * WTI NPS / IPS / TPS network power switches over their telnet console: one session per call
 * (login, `/S` or `/ON n,Y` / `/OFF n,Y` / `/BOOT n,Y`, `/X,Y`). Plug ids are plug numbers:
 * the unit also takes names, groups and `*`, which could switch more than one plug.
 */
export const WTI_NPS: ConsoleSwitchModel = {
  kind: 'wti-nps',
  login: loginScript,
  status: statusScript,
  rows: 'plugs',
  command: (action, timeoutMs) => commandScript(action, VERB[action], timeoutMs),
  logout: logoutScript,
  plug: { pattern: /^\d{1,3}$/, noun: 'plug', hint: 'plugs are numbers' },
}

export class WtiNpsDriver extends ConsoleSwitchDriver {
  constructor(cfg: WtiNpsConfig, deviceId: string, password: string, opts: ConsoleDriverOptions = {}) {
    super(WTI_NPS, cfg, deviceId, password, opts)
  }
}
