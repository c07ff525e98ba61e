import type { Terminal } from '../prompt-server.js'
import type { PromptFirmware } from '../prompt-server.js'
import type { DeviceSimulator } from '../simulator.js'

/**
 * APC MasterSwitch / Switched Rack PDU console firmware, as its telnet (and SSH) console shows
 * it: `User Name : ` / `Password  : `, a banner, numbered menus ending in `> `, ESC one level up,
 * Ctrl-C to the main menu, outlet lists paged after 22 rows, `Enter 'YES' to continue or <ENTER>
 * to cancel : ` and `Press <ENTER> to continue...`; or the AOS v5–7 command line (`apc>`,
 * `olStatus`, `olOn`, `olOff`, `E000: Success`). Sources: ../shared/reference/device-protocols.md
 * §2, fence_apc, cluster-glue apcmaster.c, powerman's apc*.dev scripts.
 */

export type ApcFirmwareKind = 'ap9211' | 'ap79xx-v2' | 'ap79xx-v3' | 'ap79xx-v3-drift' | 'aos'

export const APC_FIRMWARES: readonly ApcFirmwareKind[] = [
  'ap9211',
  'ap79xx-v2',
  'ap79xx-v3',
  'ap79xx-v3-drift',
  'aos',
]

export interface ApcFirmwareSpec {
  firmware: ApcFirmwareKind
  user: string
  password: string
  /** Ask `Enter 'YES' to continue…` before a command (a console setting; on by default). */
  confirm: boolean
  /** Failed logins before the console closes the connection (a lockout). */
  maxLoginAttempts: number
  /** Name in the banner. */
  systemName: string
}

type Item = { label: string; go: Screen }
type Screen =
  | { kind: 'menu'; title: string; items: Item[] }
  | { kind: 'outlets'; title: string; extra?: string }
  | { kind: 'outlet'; plug: string }
  | { kind: 'control'; plug: string }

const RULE = '-'.repeat(79)
const FOOTER = '     <ESC>- Back, <ENTER>- Refresh, <CTRL-L>- Event Log'
/** Rows per page of an outlet list; then `Press <ENTER> to continue...`. */
export const PAGE_ROWS = 22

function heading(title: string): string {
  const t = `------- ${title} `
  return t + '-'.repeat(Math.max(3, 79 - t.length))
}

/** The menu tree of one firmware, from the Device Manager down to the outlet list. */
function deviceManager(kind: ApcFirmwareKind): Screen {
  const list: Screen = { kind: 'outlets', title: 'Outlet Control/Configuration' }
  switch (kind) {
    case 'ap9211':
      // the Device Manager is the outlet list itself (cluster-glue: `1`, then the outlet number)
      return { kind: 'outlets', title: 'Device Manager', extra: 'Master Switch' }
    case 'ap79xx-v2':
      return {
        kind: 'menu',
        title: 'Device Manager',
        items: [
          { label: 'Phase Monitor/Configuration', go: info('Phase Monitor/Configuration') },
          { label: 'Outlet Restriction Configuration', go: info('Outlet Restriction Configuration') },
          { label: 'Outlet Control/Configuration', go: list },
          { label: 'Power Supply Status', go: info('Power Supply Status') },
        ],
      }
    case 'ap79xx-v3':
      return {
        kind: 'menu',
        title: 'Device Manager',
        items: [
          { label: 'Phase Management', go: info('Phase Management') },
          {
            label: 'Outlet Management',
            go: {
              kind: 'menu',
              title: 'Outlet Management',
              items: [
                { label: 'Outlet Control/Configuration', go: list },
                { label: 'Outlet Restriction', go: info('Outlet Restriction') },
              ],
            },
          },
          { label: 'Power Supply Status', go: info('Power Supply Status') },
        ],
      }
    case 'ap79xx-v3-drift':
      // a later firmware that moved the items: a client that types fixed keys lands elsewhere
      return {
        kind: 'menu',
        title: 'Device Manager',
        items: [
          { label: 'Power Supply Status', go: info('Power Supply Status') },
          { label: 'Phase Management', go: info('Phase Management') },
          {
            label: 'Outlet Management',
            go: {
              kind: 'menu',
              title: 'Outlet Management',
              items: [
                { label: 'Outlet Restriction', go: info('Outlet Restriction') },
                { label: 'Outlet Control/Configuration', go: list },
              ],
            },
          },
        ],
      }
    case 'aos':
      return list
  }
}

function info(title: string): Screen {
  return { kind: 'menu', title, items: [] }
}

const ACTIONS = [
  'Immediate On',
  'Immediate Off',
  'Immediate Reboot',
  'Delayed On',
  'Delayed Off',
  'Delayed Reboot',
  'Cancel',
]

export class ApcMenuFirmware implements PromptFirmware {
  private stage: 'user' | 'password' | 'menu' | 'confirm' | 'continue' | 'cli' = 'user'
  private user = ''
  private failures = 0
  /** The menu path from the main menu (main menu = empty). */
  private stack: Screen[] = []
  /** The outlet list is shown page by page: the next row to show, or -1. */
  private pageFrom = -1
  private pendingAction: { plug: string; action: number } | undefined

  constructor(
    private readonly sim: DeviceSimulator,
    private readonly spec: ApcFirmwareSpec,
    private readonly t: Terminal,
    /** Commands the console accepted, for the lab's trace. */
    private readonly trace: (event: string) => void = () => {},
    private readonly authenticated = false,
  ) {}

  start(): void {
    // over SSH the user was authenticated by the SSH layer: the console opens at once
    if (this.authenticated) {
      this.trace(`login ${this.spec.user} (ssh)`)
      this.welcome()
    } else this.promptUser()
  }

  private promptUser(): void {
    this.stage = 'user'
    this.t.echo('on')
    // AP79xx starts the prompt with a bare CR
    this.t.write(this.spec.firmware === 'ap9211' ? '\r\nUser Name : ' : '\r\n\rUser Name : ')
  }

  key(k: 'esc' | 'ctrl-c'): void {
    if (this.stage === 'user' || this.stage === 'password' || this.stage === 'cli') return
    // ESC at a confirmation is ignored; at a paging prompt it abandons the list (and goes up)
    if (this.stage === 'confirm' && k === 'esc') return
    if (this.stage === 'continue' && this.pageFrom < 0 && k === 'esc') return
    this.stage = 'menu'
    this.pageFrom = -1
    if (k === 'ctrl-c') this.stack = []
    else this.stack.pop()
    this.show()
  }

  line(text: string): void {
    switch (this.stage) {
      case 'user':
        if (text === '') {
          this.promptUser()
          return
        }
        this.user = text
        this.stage = 'password'
        this.t.echo('mask')
        this.t.write('\rPassword  : ')
        return
      case 'password':
        this.login(text)
        return
      case 'confirm':
        this.confirmed(text)
        return
      case 'continue':
        this.stage = 'menu'
        this.show()
        return
      case 'cli':
        this.cli(text.trim())
        return
      case 'menu':
        this.menuInput(text.trim())
        return
    }
  }

  private login(password: string): void {
    this.t.echo('on')
    if (this.user !== this.spec.user || password !== this.spec.password) {
      this.failures++
      this.trace(`login refused for ${JSON.stringify(this.user)}`)
      if (this.failures >= this.spec.maxLoginAttempts) {
        this.t.write('\r\n\r\nToo many login attempts, connection closed.\r\n')
        this.t.close()
        return
      }
      this.promptUser()
      return
    }
    this.trace(`login ${this.user}`)
    this.welcome()
  }

  /** After a login: the banner, then the main menu or the CLI prompt. */
  private welcome(): void {
    this.banner()
    if (this.spec.firmware === 'aos') {
      this.stage = 'cli'
      this.t.write('\r\nType ? for command listing\r\n\r\napc>')
      return
    }
    this.stage = 'menu'
    this.stack = []
    this.show()
  }

  private banner(): void {
    const aos = this.spec.firmware === 'aos'
    const [vendor, card, app] = (
      {
        ap9211: ['American Power Conversion', 'MasterSwitch       AOS', 'MasterSwitch APP   v2.2.0'],
        'ap79xx-v2': ['American Power Conversion', 'Network Management Card AOS', 'Rack PDU APP v2.7.0'],
        'ap79xx-v3': ['American Power Conversion', 'Network Management Card AOS', 'Rack PDU APP v3.7.3'],
        'ap79xx-v3-drift': [
          'American Power Conversion',
          'Network Management Card AOS',
          'Rack PDU APP v3.9.2',
        ],
        aos: ['Schneider Electric', 'Network Management Card AOS', 'RPDU 2g APP v6.4.0'],
      } as Record<ApcFirmwareKind, [string, string, string]>
    )[this.spec.firmware]
    const version = {
      ap9211: 'v3.0.3',
      'ap79xx-v2': 'v2.7.0',
      'ap79xx-v3': 'v3.7.3',
      'ap79xx-v3-drift': 'v3.9.2',
      aos: 'v6.4.0',
    }[this.spec.firmware]
    const pad = (s: string, n: number) => s.padEnd(n)
    this.t.write(
      `\r\n\r\n\r\n${pad(vendor, 40)}${card}      ${version}\r\n` +
        `${pad('(c)Copyright 2009 All Rights Reserved', 40)}${app}\r\n` +
        `${RULE}\r\n` +
        `Name      : ${pad(this.spec.systemName, 38)}Date : 12/04/2026\r\n` +
        `Contact   : ${pad('Unknown', 38)}Time : 15:00:00\r\n` +
        `Location  : ${pad('Lab', 38)}User : ${aos ? 'Super User' : 'Administrator'}\r\n` +
        `Up Time   : ${pad('0 Days 1 Hour 0 Minutes', 38)}Stat : P+ N+ A+\r\n`,
    )
  }

  /** Draw the current screen and its prompt. */
  private show(): void {
    const screen = this.stack.at(-1)
    if (!screen) {
      this.t.write(
        `\r\n${heading('Control Console')}\r\n\r\n     1- Device Manager\r\n     2- Network\r\n     3- System\r\n     4- Logout\r\n\r\n     <ESC>- Main Menu, <ENTER>- Refresh, <CTRL-L>- Event Log\r\n> `,
      )
      return
    }
    if (screen.kind === 'menu') {
      const rows = screen.items.map((it, i) => `     ${i + 1}- ${it.label}\r\n`).join('')
      this.t.write(`\r\n${heading(screen.title)}\r\n\r\n${rows}\r\n${FOOTER}\r\n> `)
      return
    }
    if (screen.kind === 'outlets') {
      if (this.pageFrom < 0) {
        this.t.write(`\r\n${heading(screen.title)}\r\n\r\n`)
        this.pageFrom = 0
      }
      this.page(screen)
      return
    }
    const o = this.sim.outlet(screen.plug)
    const head =
      `\r\n${heading(screen.kind === 'outlet' ? `Outlet ${screen.plug}` : 'Control Outlet')}\r\n\r\n` +
      `        Name         : ${o.name}\r\n        Outlet       : ${screen.plug}\r\n        State        : ${o.state.toUpperCase()}\r\n\r\n`
    const items =
      screen.kind === 'outlet'
        ? ['Control Outlet', 'Configure Outlet']
        : this.spec.firmware === 'ap9211'
          ? ACTIONS.slice(0, 3)
          : ACTIONS
    this.t.write(
      `${head}${items.map((l, i) => `     ${i + 1}- ${l}\r\n`).join('')}\r\n     ?- Help, ${FOOTER.trim()}\r\n> `,
    )
  }

  private page(screen: { extra?: string }): void {
    const ids = this.sim.plugIds()
    const rows = ids.map((id) => {
      const o = this.sim.outlet(id)
      return `${id.padStart(6)}- ${o.name.slice(0, 20).padEnd(24)}${o.state.toUpperCase()}\r\n`
    })
    const all = ids.length + 1
    const masterLabel = screen.extra ?? 'Master Control/Configuration'
    rows.push(`${String(all).padStart(6)}- ${masterLabel}\r\n`)
    const end = Math.min(rows.length, this.pageFrom + PAGE_ROWS)
    this.t.write(rows.slice(this.pageFrom, end).join(''))
    if (end < rows.length) {
      this.pageFrom = end
      this.stage = 'continue'
      this.t.write('\r\nPress <ENTER> to continue...')
      return
    }
    this.pageFrom = -1
    this.t.write(`\r\n${FOOTER}\r\n> `)
  }

  private menuInput(text: string): void {
    const screen = this.stack.at(-1)
    if (text === '') {
      this.show()
      return
    }
    const n = /^\d+$/.test(text) ? Number(text) : Number.NaN
    if (!screen) {
      if (n === 1) {
        this.stack.push(deviceManager(this.spec.firmware))
        this.show()
        return
      }
      if (n === 4) {
        this.t.write('\r\nBye.\r\n\r\nConnection Closed - Bye\r\n')
        this.trace('logout')
        this.t.close()
        return
      }
      if (n === 2 || n === 3) {
        this.stack.push(info(n === 2 ? 'Network' : 'System'))
        this.show()
        return
      }
      this.show()
      return
    }
    if (screen.kind === 'menu') {
      const it = screen.items[n - 1]
      if (it) this.stack.push(it.go)
      this.show()
      return
    }
    if (screen.kind === 'outlets') {
      const id = String(n)
      if (this.sim.has(id)) this.stack.push({ kind: 'outlet', plug: id })
      this.show()
      return
    }
    if (screen.kind === 'outlet') {
      if (n === 1) this.stack.push({ kind: 'control', plug: screen.plug })
      this.show()
      return
    }
    // control outlet: an action
    const max = this.spec.firmware === 'ap9211' ? 3 : ACTIONS.length
    if (!(n >= 1 && n <= max)) {
      this.show()
      return
    }
    this.pendingAction = { plug: screen.plug, action: n }
    if (!this.spec.confirm) {
      this.confirmed('YES')
      return
    }
    this.stage = 'confirm'
    this.t.write(
      `\r\n        ${'-'.repeat(71)}\r\n        ${ACTIONS[n - 1]}\r\n\r\n` +
        `        This command will act on outlet ${screen.plug} (${this.sim.outlet(screen.plug).name}).\r\n\r\n` +
        "        Enter 'YES' to continue or <ENTER> to cancel : ",
    )
  }

  private confirmed(answer: string): void {
    const p = this.pendingAction
    this.pendingAction = undefined
    if (!p) {
      this.show()
      return
    }
    if (answer.trim() !== 'YES') {
      this.stage = 'menu'
      this.t.write('\r\n        Command cancelled.\r\n')
      this.show()
      return
    }
    const act = p.action
    if (act === 1) this.sim.command(p.plug, 'on')
    else if (act === 2) this.sim.command(p.plug, 'off')
    else if (act === 3) this.sim.command(p.plug, 'cycle')
    else if (act === 4) this.sim.command(p.plug, 'on', 5000)
    else if (act === 5) this.sim.command(p.plug, 'off', 5000)
    else if (act === 6) this.sim.command(p.plug, 'cycle', 5000)
    else if (act === 7) this.sim.cancelPending(p.plug)
    this.trace(`${ACTIONS[act - 1]} ${p.plug}`)
    this.stage = 'continue'
    this.t.write(`\r\n\r\n        Command successfully issued.\r\n\r\n        Press <ENTER> to continue...`)
  }

  /** The AOS v5–7 command line. */
  private cli(cmd: string): void {
    const reply = (body: string) => this.t.write(`${body}\r\n\r\napc>`)
    if (cmd === '') {
      this.t.write('apc>')
      return
    }
    const [verb = '', ...args] = cmd.split(/\s+/)
    const v = verb.toLowerCase()
    if (v === 'exit' || v === 'quit' || v === 'bye') {
      this.t.write('Bye.\r\n')
      this.trace('logout')
      this.t.close()
      return
    }
    const outlets = (arg: string | undefined): string[] | undefined => {
      if (!arg) return undefined
      if (arg.toLowerCase() === 'all') return this.sim.plugIds()
      const ids: string[] = []
      for (const part of arg.split(',')) {
        const m = /^(\d+)(?:-(\d+))?$/.exec(part)
        if (!m) return undefined
        const a = Number(m[1])
        const b = m[2] ? Number(m[2]) : a
        for (let i = a; i <= b; i++) ids.push(String(i))
      }
      return ids.every((i) => this.sim.has(i)) ? ids : undefined
    }
    const known = ['olstatus', 'olon', 'oloff', 'olreboot', 'oldlyreboot', 'olcancelcmd', 'olname']
    if (!known.includes(v)) {
      reply('E101: Command Not Found')
      return
    }
    const ids = outlets(args[0])
    if (!ids) {
      reply('E102: Parameter Error')
      return
    }
    if (v === 'olstatus' || v === 'olname') {
      const rows = ids.map((id) => {
        const o = this.sim.outlet(id)
        return ` ${id}: ${o.name}: ${o.state === 'on' ? 'On' : 'Off'}`
      })
      reply(`E000: Success\r\n${rows.join('\r\n')}`)
      return
    }
    for (const id of ids) {
      if (v === 'olon') this.sim.command(id, 'on')
      else if (v === 'oloff') this.sim.command(id, 'off')
      else if (v === 'olreboot') this.sim.command(id, 'cycle')
      else if (v === 'oldlyreboot') this.sim.command(id, 'cycle', 5000)
      else this.sim.cancelPending(id)
      this.trace(`${verb} ${id}`)
    }
    reply('E000: Success')
    return
  }
}
