import type { PromptFirmware, Terminal } from '../prompt-server.js'
import type { DeviceSimulator } from '../simulator.js'

/**
 * BayTech RPC-5 console firmware (telnet): a banner (`RPC-5 Telnet Host`, `Bay Technical
 * Associates`, `Unit ID:`), `Enter username>` / `Enter password>`, the main menu ending in
 * `Enter Selection>`, `1` Outlet Control with the `RPC-5>` prompt, `STATUS` (outlet rows after
 * the `Internal Temperature:` line: number in 7 columns, the name at column 14, 18 wide), `ON n`,
 * `OFF n`, `REBOOT n` with `(Y/N)>` confirmation, `MENU`, `6` Logout. Sources:
 * ../shared/reference/device-protocols.md §6, cluster-glue baytech.c, powerman's baytech.dev.
 */
export interface BaytechSpec {
  user: string
  password: string
  unitId: string
  /** Ask `(Y/N)>` before a command. */
  confirm: boolean
  maxLoginAttempts: number
  /** How long `REBOOT` keeps the outlet off. */
  rebootDelayMs: number
  /** Telnet sessions at once. */
  sessions: number
}

const MAIN_MENU =
  '\r\n\r\nRPC-5 Menu:\r\n\r\n' +
  '    1)...Outlet Control\r\n    2)...Manage Users\r\n    3)...Configuration\r\n' +
  '    4)...Unit Status\r\n    5)...Reset Unit\r\n    6)...Logout\r\n\r\nEnter Selection>'

export class BaytechFirmware implements PromptFirmware {
  private stage: 'user' | 'password' | 'menu' | 'outlets' | 'confirm' = 'user'
  private user = ''
  private failures = 0
  private pending: { verb: 'on' | 'off' | 'reboot'; plug: string } | undefined

  constructor(
    private readonly sim: DeviceSimulator,
    private readonly spec: BaytechSpec,
    private readonly t: Terminal,
    private readonly trace: (e: string) => void = () => {},
  ) {}

  start(): void {
    this.t.write(
      '\r\n\r\nRPC-5 Telnet Host\r\nRevision F 4.22, (C) 1999\r\nBay Technical Associates\r\n\r\n' +
        `Unit ID: ${this.spec.unitId}\r\n\r\n`,
    )
    this.askUser()
  }

  private askUser(): void {
    this.stage = 'user'
    this.t.echo('on')
    this.t.write('Enter username>')
  }

  key(): void {}

  line(text: string): void {
    const cmd = text.trim()
    switch (this.stage) {
      case 'user':
        this.user = cmd
        this.stage = 'password'
        this.t.echo('mask')
        this.t.write('Enter password>')
        return
      case 'password':
        this.t.echo('on')
        if (this.user !== this.spec.user || text !== this.spec.password) {
          this.failures++
          this.trace('login refused')
          this.t.write('\r\nInvalid password\r\n\r\n')
          if (this.failures >= this.spec.maxLoginAttempts) {
            this.t.write('Too many login failures, disconnecting\r\n')
            this.t.close()
            return
          }
          this.askUser()
          return
        }
        this.trace('login')
        this.menu()
        return
      case 'menu':
        if (cmd === '1') {
          this.stage = 'outlets'
          this.t.write('\r\n\r\nRPC-5>')
        } else if (cmd === '6') {
          this.trace('logout')
          this.t.write('\r\nLogging out...\r\n')
          this.t.close()
        } else this.menu()
        return
      case 'confirm': {
        const p = this.pending
        this.pending = undefined
        this.stage = 'outlets'
        if (p && /^y/i.test(cmd)) this.run(p.verb, p.plug)
        else this.t.write('\r\nCommand cancelled\r\n')
        this.t.write('\r\nRPC-5>')
        return
      }
      case 'outlets':
        this.outletCommand(cmd)
    }
  }

  private menu(): void {
    this.stage = 'menu'
    this.t.write(MAIN_MENU)
  }

  private outletCommand(cmd: string): void {
    const [verbRaw = '', arg = ''] = cmd.split(/\s+/)
    const verb = verbRaw.toLowerCase()
    if (verb === 'menu') {
      this.menu()
      return
    }
    if (verb === 'status') {
      this.status()
      this.t.write('\r\nRPC-5>')
      return
    }
    if (verb === '') {
      this.t.write('\r\nRPC-5>')
      return
    }
    if (verb !== 'on' && verb !== 'off' && verb !== 'reboot') {
      this.t.write('\r\nInput error\r\n\r\nRPC-5>')
      return
    }
    if (!this.sim.has(arg)) {
      this.t.write('\r\nInvalid outlet number\r\n\r\nRPC-5>')
      return
    }
    if (this.spec.confirm) {
      this.pending = { verb, plug: arg }
      this.stage = 'confirm'
      const what = verb === 'reboot' ? 'Reboot' : `Turn ${verb === 'on' ? 'On' : 'Off'}`
      this.t.write(`\r\n${what} Outlet ${arg} (Y/N)>`)
      return
    }
    this.run(verb, arg)
    this.t.write('\r\nRPC-5>')
  }

  private run(verb: 'on' | 'off' | 'reboot', plug: string): void {
    const state = this.sim.state(plug)
    if (verb === 'reboot') {
      if (state === 'off') {
        this.t.write(`\r\nOutlet ${plug} is already off.\r\n`)
        return
      }
      this.sim.cycleOffMs = this.spec.rebootDelayMs
      this.sim.command(plug, 'cycle')
      this.trace(`reboot ${plug}`)
      this.t.write(`\r\nRebooting selected outlet...\r\nPower applied to outlet ${plug}\r\n`)
      return
    }
    this.sim.command(plug, verb)
    this.trace(`${verb} ${plug}`)
  }

  private status(): void {
    const rows = this.sim.plugIds().map((id) => {
      const o = this.sim.outlet(id)
      return `${id.padStart(7)}       ${o.name.slice(0, 18).padEnd(18)}  ${o.state === 'on' ? 'On ' : 'Off'}`
    })
    this.t.write(
      '\r\n\r\nAverage Power:    0 Watts\r\nTrue RMS Voltage: 120.0 Volts\r\nTrue RMS Current:   0.1 Amps\r\n' +
        'Circuit Breaker: On\r\n' +
        'Internal Temperature: 30.5 C\r\n' +
        rows.join('\r\n') +
        '\r\n\r\n',
    )
  }
}
