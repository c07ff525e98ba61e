import type { PromptFirmware, Terminal } from '../prompt-server.js'
import type { DeviceSimulator } from '../simulator.js'

/**
 * WTI NPS / IPS / TPS console firmware (telnet): a banner, `Enter Password: ` (optionally a
 * `Login Name: ` first, as on newer units), the `NPS> ` prompt, `/H` help, `/S` the plug table,
 * `/ON`, `/OFF`, `/BOOT` with `,Y` to skip the `(Y/N):` confirmation, `Processing - please wait`,
 * `/X` logout. Commands are case-insensitive. Sources: ../shared/reference/device-protocols.md §4,
 * fence_wti, cluster-glue wti_nps.c, powerman's wti.dev.
 */
export interface WtiNpsSpec {
  /** The prompt's name: NPS, IPS, TPS, NBB, MPC, RSM, VMR. */
  prompt: string
  /** Newer units ask a login name first. */
  user?: string
  password: string
  /** Ask `(Y/N):` before a command without `,Y`. */
  confirm: boolean
  /** Failed passwords before the unit hangs up. */
  maxLoginAttempts: number
  /** How long `/BOOT` keeps the plug off (the unit's boot delay). */
  bootDelayMs: number
}

export class WtiNpsFirmware implements PromptFirmware {
  private stage: 'user' | 'password' | 'prompt' | 'confirm' = 'password'
  private failures = 0
  private userOk = true
  private pending: { verb: 'on' | 'off' | 'boot'; plugs: string[] } | undefined

  constructor(
    private readonly sim: DeviceSimulator,
    private readonly spec: WtiNpsSpec,
    private readonly t: Terminal,
    private readonly trace: (e: string) => void = () => {},
  ) {}

  private get title(): string {
    return this.spec.prompt === 'NBB' ? 'Network Boot Bar' : 'Network Power Switch'
  }

  start(): void {
    this.t.write(`\r\n\r\n${this.title} v3.02\r\n\r\n`)
    this.ask()
  }

  private ask(): void {
    if (this.spec.user !== undefined) {
      this.stage = 'user'
      this.t.echo('on')
      this.t.write('Login Name:  ')
      return
    }
    this.stage = 'password'
    this.t.echo('mask')
    this.t.write('Enter Password: ')
  }

  key(): void {}

  line(text: string): void {
    if (this.stage === 'user') {
      this.userOk = text === this.spec.user
      this.stage = 'password'
      this.t.echo('mask')
      this.t.write('Enter Password: ')
      return
    }
    if (this.stage === 'password') {
      this.t.echo('on')
      if (!this.userOk || text !== this.spec.password) {
        this.failures++
        this.trace('login refused')
        this.t.write('\r\nInvalid password\r\n\r\n')
        if (this.failures >= this.spec.maxLoginAttempts) {
          this.t.write('Too many attempts - disconnecting\r\n')
          this.t.close()
          return
        }
        this.ask()
        return
      }
      this.trace('login')
      this.t.write(`\r\n\r\n        ${this.title} v3.02  Site ID: (undefined)\r\n\r\n`)
      this.prompt()
      return
    }
    if (this.stage === 'confirm') {
      const p = this.pending
      this.pending = undefined
      this.stage = 'prompt'
      if (p && /^y(es)?$/i.test(text.trim())) this.run(p.verb, p.plugs)
      else this.t.write('\r\n Command cancelled\r\n\r\n')
      this.prompt()
      return
    }
    this.command(text.trim())
  }

  private prompt(): void {
    this.stage = 'prompt'
    this.t.write(`${this.spec.prompt}> `)
  }

  private command(cmd: string): void {
    const m = /^\/(\w+)\s*(.*)$/.exec(cmd)
    if (cmd === '') {
      this.prompt()
      return
    }
    if (!m) {
      this.t.write('\r\n Invalid command\r\n\r\n')
      this.prompt()
      return
    }
    const verb = m[1]!.toLowerCase()
    let arg = m[2]!.trim()
    const yes = /,\s*y$/i.test(arg)
    if (yes) arg = arg.replace(/,\s*y$/i, '').trim()
    if (verb === 'x') {
      this.trace('logout')
      this.t.write('\r\n Disconnecting\r\n')
      this.t.close()
      return
    }
    if (verb === 'h') {
      this.t.write(
        '\r\n' +
          ' /S  Display Plug Status          /ON  <n> Turn On Plug\r\n' +
          ' /H  Display Help Screen          /OFF <n> Turn Off Plug\r\n' +
          ' /X  Exit/Disconnect              /BOOT <n> Boot Plug\r\n\r\n',
      )
      this.prompt()
      return
    }
    if (verb === 's') {
      this.status()
      this.prompt()
      return
    }
    if (verb !== 'on' && verb !== 'off' && verb !== 'boot') {
      this.t.write('\r\n Invalid command\r\n\r\n')
      this.prompt()
      return
    }
    const plugs = this.plugs(arg)
    if (!plugs) {
      this.t.write('\r\n Invalid Plug Number\r\n\r\n')
      this.prompt()
      return
    }
    if (this.spec.confirm && !yes) {
      this.pending = { verb, plugs }
      this.stage = 'confirm'
      this.t.write(
        `\r\n ${verb === 'boot' ? 'Boot' : `Turn ${verb.toUpperCase()}`} plug ${arg}, Sure? (Y/N): `,
      )
      return
    }
    this.run(verb, plugs)
    this.prompt()
  }

  /** A plug number, `*` (all), or a plug name. */
  private plugs(arg: string): string[] | undefined {
    if (arg === '*') return this.sim.plugIds()
    if (this.sim.has(arg)) return [arg]
    const byName = this.sim
      .plugIds()
      .filter((id) => this.sim.outlet(id).name.toLowerCase() === arg.toLowerCase())
    return byName.length > 0 ? byName : undefined
  }

  private run(verb: 'on' | 'off' | 'boot', plugs: string[]): void {
    this.t.write('\r\n Processing - please wait ...\r\n\r\n')
    for (const p of plugs) {
      if (verb === 'boot') {
        this.sim.cycleOffMs = this.spec.bootDelayMs
        this.sim.command(p, 'cycle')
      } else this.sim.command(p, verb)
      this.trace(`${verb} ${p}`)
    }
  }

  private status(): void {
    const rows = this.sim.plugIds().map((id) => {
      const o = this.sim.outlet(id)
      const st = o.state === 'on' ? '  ON  ' : '  OFF '
      return ` ${id.padEnd(4)}| ${o.name.slice(0, 16).padEnd(16)} | ${st} |   0.5 Secs | (undefined)      |   ON    |`
    })
    this.t.write(
      '\r\n' +
        `                ${this.title} v3.02\r\n` +
        '                Site ID: (undefined)\r\n\r\n' +
        'Plug | Name             | Status | Boot Delay | Password         | Default |\r\n' +
        '-----+------------------+--------+------------+------------------+---------+\r\n' +
        rows.join('\r\n') +
        '\r\n\r\n',
    )
  }
}
