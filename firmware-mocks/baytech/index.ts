import { chmodSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { FieldProblem } from '../../drivers/driver.js'
import { Fields } from '../../src/config/fields.js'
import type { CommonLabSpec, MockDevice, MockFactory } from '../mock.js'
import { TelnetPromptServer } from '../prompt-server.js'
import { DeviceSimulator } from '../simulator.js'
import { BaytechFirmware, type BaytechSpec } from './firmware.js'

/**
 * A BayTech RPC-5 console on a telnet port. Unlike APC and WTI units, a BayTech takes several
 * telnet sessions at once (cluster-glue's apcmaster.c notes: "The APC MasterSwitch, unlike the
 * BayTech network power switch, accepts only one (telnet) connection/session at a time"), and
 * cluster-glue's baytech plugin relies on it: it logs in again for each on/off while its first
 * session is still open. `sessions` sets the limit (default 4).
 */
export class BaytechMock implements MockDevice {
  readonly kind = 'baytech'
  readonly sim: DeviceSimulator
  readonly telnet: TelnetPromptServer
  readonly trace: string[] = []

  constructor(
    readonly id: string,
    common: CommonLabSpec,
    readonly spec: BaytechSpec,
  ) {
    this.sim = new DeviceSimulator({
      plugs: common.plugs,
      transitionDelayMs: common.transitionDelayMs,
      initial: common.initial,
      cycleOffMs: spec.rebootDelayMs,
    })
    const note = (e: string) => {
      this.trace.push(e)
      if (this.trace.length > 200) this.trace.shift()
    }
    this.telnet = new TelnetPromptServer(
      common.listen ?? { host: '127.0.0.1', port: 0 },
      this.sim,
      (t) => new BaytechFirmware(this.sim, this.spec, t, note),
      spec.sessions,
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
    return { unitId: this.spec.unitId, user: this.spec.user, sessionOpen: this.telnet.busy }
  }

  async stop(): Promise<void> {
    this.sim.close()
    await this.telnet.stop()
  }
}

export const baytechMock: MockFactory<BaytechSpec> = {
  kind: 'baytech',
  driver: 'baytech',
  description:
    'a BayTech RPC-5 console over telnet: username>/password>, menu, RPC-5> prompt, STATUS, ON n, OFF n',
  validate(section, at) {
    const f = new Fields(section, at)
    const problems: FieldProblem[] = []
    f.mark('kind', 'listen', 'pty', 'plugs', 'transitionDelay', 'initial')
    if (section.listen === undefined)
      problems.push({ path: [...at, 'listen'], message: 'required: the telnet port, HOST:PORT' })
    const spec: BaytechSpec = {
      user: f.str('user', { default: 'admin' }),
      password: f.str('password', { default: 'baytech' }),
      unitId: f.str('unitId', { default: 'RPC-lab' }),
      confirm: f.bool('confirm', true),
      maxLoginAttempts: f.int('maxLoginAttempts', { default: 3, min: 1, max: 100 }),
      rebootDelayMs: f.duration('rebootDelay', 500, { max: 60_000 }),
      sessions: f.int('sessions', { default: 4, min: 1, max: 64 }),
    }
    f.noOthers()
    return { spec, problems: [...problems, ...f.problems] }
  },
  create: (id, common, spec) => new BaytechMock(id, common, spec),
  driverSection(mock, secretsDir) {
    const m = mock as BaytechMock
    const passwordFile = path.join(secretsDir, `${m.id}.baytech-password`)
    writeFileSync(passwordFile, m.spec.password, { mode: 0o600 })
    chmodSync(passwordFile, 0o600)
    return { driver: 'baytech', host: m.address.host, port: m.address.port, user: m.spec.user, passwordFile }
  },
}
