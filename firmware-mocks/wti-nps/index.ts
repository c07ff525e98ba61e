import { chmodSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { FieldProblem } from '../../drivers/driver.js'
import { Fields } from '../../src/config/fields.js'
import type { CommonLabSpec, MockDevice, MockFactory } from '../mock.js'
import { TelnetPromptServer } from '../prompt-server.js'
import { DeviceSimulator } from '../simulator.js'
import { WtiNpsFirmware, type WtiNpsSpec } from './firmware.js'

/** A WTI NPS / IPS console on a telnet port; one session at a time, as the units allow. */
export class WtiNpsMock implements MockDevice {
  readonly kind = 'wti-nps'
  readonly sim: DeviceSimulator
  readonly telnet: TelnetPromptServer
  readonly trace: string[] = []

  constructor(
    readonly id: string,
    common: CommonLabSpec,
    readonly spec: WtiNpsSpec,
  ) {
    this.sim = new DeviceSimulator({
      plugs: common.plugs,
      transitionDelayMs: common.transitionDelayMs,
      initial: common.initial,
      cycleOffMs: spec.bootDelayMs,
    })
    const note = (e: string) => {
      this.trace.push(e)
      if (this.trace.length > 200) this.trace.shift()
    }
    this.telnet = new TelnetPromptServer(
      common.listen ?? { host: '127.0.0.1', port: 0 },
      this.sim,
      (t) => new WtiNpsFirmware(this.sim, this.spec, t, note),
    )
  }

  get address(): { host: string; port: number } {
    return this.telnet.address
  }

  get endpoint(): string {
    return `telnet://${this.address.host}:${this.address.port}`
  }

  start(): Promise<void> {
    return this.telnet.start()
  }

  info(): Record<string, unknown> {
    return { prompt: `${this.spec.prompt}>`, confirm: this.spec.confirm, sessionOpen: this.telnet.busy }
  }

  async stop(): Promise<void> {
    this.sim.close()
    await this.telnet.stop()
  }
}

export const wtiNpsMock: MockFactory<WtiNpsSpec> = {
  kind: 'wti-nps',
  driver: 'wti-nps',
  description: 'a WTI NPS/IPS/TPS console over telnet: password, NPS> prompt, /S table, /ON /OFF /BOOT',
  validate(section, at) {
    const f = new Fields(section, at)
    const problems: FieldProblem[] = []
    f.mark('kind', 'listen', 'pty', 'plugs', 'transitionDelay', 'initial')
    if (section.listen === undefined)
      problems.push({ path: [...at, 'listen'], message: 'required: the telnet port, HOST:PORT' })
    const spec: WtiNpsSpec = {
      prompt: f.oneOf('prompt', ['NPS', 'IPS', 'TPS', 'NBB', 'MPC', 'RSM', 'VMR'] as const, 'NPS'),
      user: f.optStr('user'),
      password: f.str('password', { default: 'wti' }),
      confirm: f.bool('confirm', true),
      maxLoginAttempts: f.int('maxLoginAttempts', { default: 3, min: 1, max: 100 }),
      bootDelayMs: f.duration('bootDelay', 500, { max: 60_000 }),
    }
    f.noOthers()
    return { spec, problems: [...problems, ...f.problems] }
  },
  create: (id, common, spec) => new WtiNpsMock(id, common, spec),
  driverSection(mock, secretsDir) {
    const m = mock as WtiNpsMock
    const passwordFile = path.join(secretsDir, `${m.id}.wti-password`)
    writeFileSync(passwordFile, m.spec.password, { mode: 0o600 })
    chmodSync(passwordFile, 0o600)
    return {
      driver: 'wti-nps',
      host: m.address.host,
      port: m.address.port,
      ...(m.spec.user !== undefined ? { user: m.spec.user } : {}),
      passwordFile,
    }
  },
}
