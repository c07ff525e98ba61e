import { inspect } from 'node:util'
import {
  ChassisControl,
  Cmd,
  IpmiCodecError,
  NetFn,
  PRIVILEGE_BY_NAME,
  PROFILES,
  decodeChassisStatus,
} from '../../protocols/ipmi/index.js'
import { FenceError, abortError, throwIfAborted } from '../../core/errors.js'
import type { DeviceAction, PowerState } from '../../core/types.js'
import type { Call, DriverContext, PlugInfo, PowerDriver } from '../driver.js'
import type { IpmiConfig } from './config.js'
import { completionError } from './errors.js'
import { IpmiSession, type SessionOptions } from './session.js'

/** The one plug of a BMC. */
export const CHASSIS = 'chassis'

/** User name, password and Kg, kept out of every message, log line and inspection. */
export class IpmiCredentials {
  constructor(
    readonly user: Buffer,
    readonly password: Buffer,
    readonly kg: Buffer | undefined,
  ) {}
  [inspect.custom](): string {
    return `IpmiCredentials { user: ${this.user.toString('latin1')}, password: [redacted]${this.kg ? ', kg: [redacted]' : ''} }`
  }
  toJSON(): Record<string, string> {
    return { user: this.user.toString('latin1'), password: '[redacted]' }
  }
}

/** Chassis Control requests beyond on/off/cycle, for operators (never for a fence). */
export type ChassisAction = 'on' | 'off' | 'cycle' | 'reset' | 'soft'

const CONTROL: Record<ChassisAction, { value: number; what: string }> = {
  on: { value: ChassisControl.POWER_UP, what: 'Chassis Control power up' },
  off: { value: ChassisControl.POWER_DOWN, what: 'Chassis Control power down' },
  cycle: { value: ChassisControl.POWER_CYCLE, what: 'Chassis Control power cycle' },
  reset: { value: ChassisControl.HARD_RESET, what: 'Chassis Control hard reset' },
  soft: { value: ChassisControl.SOFT_SHUTDOWN, what: 'Chassis Control soft shutdown' },
}

/** "Not supported in present state": what real BMCs answer to a cycle of a chassis that is off. */
const CC_NOT_IN_PRESENT_STATE = 0xd5

/**
 * A BMC over IPMI v2.0 / RMCP+ (cipher suite 17 or 3), natively over UDP. One plug,
 * `chassis`. Every call opens its own session and closes it after use: a BMC's session table
 * is small and sessions left open (a crashed gateway) would fill it.
 */
export class IpmiDriver implements PowerDriver {
  readonly kind = 'ipmi'
  private readonly label: string
  private readonly warned = new Set<string>()
  private closed = false

  constructor(
    private readonly cfg: IpmiConfig,
    private readonly creds: IpmiCredentials,
    private readonly ctx: DriverContext,
  ) {
    this.label = `${ctx.deviceId} (${cfg.host}:${cfg.port})`
  }

  private options(): SessionOptions {
    const o: SessionOptions = {
      host: this.cfg.host,
      port: this.cfg.port,
      label: this.label,
      user: this.creds.user,
      password: this.creds.password,
      profile: PROFILES.get(this.cfg.cipherSuite)!,
      privilege: PRIVILEGE_BY_NAME[this.cfg.privilege],
      unreachableTimeoutMs: this.cfg.unreachableTimeoutMs,
      requestTimeoutMs: this.cfg.requestTimeoutMs,
      retransmitMs: this.cfg.retransmitMs,
      log: this.ctx.log,
      warnOnce: (key, msg) => {
        if (this.warned.has(key)) return
        this.warned.add(key)
        this.ctx.log('warn', msg, { device: this.ctx.deviceId })
      },
    }
    if (this.creds.kg) o.kg = this.creds.kg
    return o
  }

  /** Open a session, run `fn` in it, close it. Codec errors become PROTOCOL_ERROR. */
  private async withSession<T>(call: Call, fn: (s: IpmiSession) => Promise<T>): Promise<T> {
    if (this.closed) throw new FenceError('ENGINE_CLOSED', `${this.label}: driver closed`)
    throwIfAborted(call.signal)
    let session: IpmiSession | undefined
    try {
      session = await IpmiSession.open(this.options(), call.signal)
      const result = await fn(session)
      await session.close(call.signal)
      return result
    } catch (e) {
      if (session) {
        if (call.signal.aborted) session.abandon()
        else await session.close(call.signal)
      }
      if (call.signal.aborted) throw abortError(call.signal)
      if (e instanceof IpmiCodecError)
        throw new FenceError('PROTOCOL_ERROR', `${this.label}: unreadable answer: ${e.message}`)
      throw e
    }
  }

  private checkPlug(plug: string): void {
    if (plug !== CHASSIS)
      throw new FenceError('NO_SUCH_PLUG', `${this.label}: a BMC has one plug, ${CHASSIS}; no plug '${plug}'`)
  }

  private async readState(s: IpmiSession, signal: AbortSignal): Promise<PowerState> {
    const rs = await s.command(
      NetFn.CHASSIS,
      Cmd.GET_CHASSIS_STATUS,
      Buffer.alloc(0),
      'Get Chassis Status',
      signal,
    )
    if (rs.cc !== 0) throw completionError(rs.cc, 'Get Chassis Status', this.label)
    if (rs.data.length < 3) return 'unknown'
    return decodeChassisStatus(rs.data).powerOn ? 'on' : 'off'
  }

  private async control(s: IpmiSession, action: ChassisAction, signal: AbortSignal): Promise<number> {
    const { value, what } = CONTROL[action]
    const rs = await s.command(NetFn.CHASSIS, Cmd.CHASSIS_CONTROL, Buffer.from([value]), what, signal)
    return rs.cc
  }

  private async controlOrThrow(s: IpmiSession, action: ChassisAction, signal: AbortSignal): Promise<void> {
    const cc = await this.control(s, action, signal)
    if (cc !== 0) throw completionError(cc, CONTROL[action].what, this.label)
  }

  async plugs(call: Call): Promise<PlugInfo[]> {
    // a real round trip: proves address, credentials and privilege, as discovery should
    await this.withSession(call, async (s) => {
      const rs = await s.command(NetFn.APP, Cmd.GET_DEVICE_ID, Buffer.alloc(0), 'Get Device ID', call.signal)
      if (rs.cc !== 0) throw completionError(rs.cc, 'Get Device ID', this.label)
    })
    return [{ id: CHASSIS, name: 'chassis' }]
  }

  async status(plugs: readonly string[], call: Call): Promise<Map<string, PowerState>> {
    for (const p of plugs) this.checkPlug(p)
    const state = await this.withSession(call, (s) => this.readState(s, call.signal))
    return new Map(plugs.map((p) => [p, state]))
  }

  async set(plug: string, action: DeviceAction, call: Call): Promise<void> {
    this.checkPlug(plug)
    await this.withSession(call, async (s) => {
      if (action !== 'cycle') return this.controlOrThrow(s, action, call.signal)
      // a cycle of a chassis that is off powers it on (design rule 5); real BMCs answer 0xD5
      // to the cycle itself, and some accept it and do nothing, so look first
      if ((await this.readState(s, call.signal)) === 'off') return this.controlOrThrow(s, 'on', call.signal)
      const cc = await this.control(s, 'cycle', call.signal)
      if (cc === CC_NOT_IN_PRESENT_STATE) return this.controlOrThrow(s, 'on', call.signal)
      if (cc !== 0) throw completionError(cc, CONTROL.cycle.what, this.label)
    })
  }

  /**
   * Hard reset or soft (ACPI) shutdown, for operators. Neither can be read back as off and a
   * soft shutdown depends on the operating system: never used for fencing (design rule 2).
   */
  async chassisControl(action: 'reset' | 'soft', call: Call): Promise<void> {
    await this.withSession(call, (s) => this.controlOrThrow(s, action, call.signal))
  }

  async close(): Promise<void> {
    this.closed = true
  }
}
