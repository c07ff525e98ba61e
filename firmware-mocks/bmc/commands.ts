/**
 * The IPMI commands the mock BMC implements, as a table: (netFn, cmd) → privilege needed and
 * handler. Anything not in the table answers 0xC1 (invalid command), as real BMCs do.
 */
import {
  CIPHER_SUITE_CHUNK,
  ChassisControl,
  Cmd,
  NetFn,
  PROFILES,
  Privilege,
  decodeAuthCapsRequest,
  decodeCipherSuitesRequest,
  decodeCloseSessionRequest,
  encodeAuthCaps,
  encodeChassisStatus,
  encodeCipherSuiteRecords,
  encodeDeviceId,
} from '../../protocols/ipmi/index.js'
import type { DeviceSimulator } from '../simulator.js'
import { type BmcSession, CHANNEL_PRIVILEGE_LIMIT, type SessionTable } from './sessions.js'
import type { BmcSpec } from './spec.js'

/** The LAN channel number this BMC reports. */
export const LAN_CHANNEL = 1
export const PLUG = 'chassis'

export interface Answer {
  cc: number
  data?: Buffer | number[]
}

export interface ControlRecord {
  action: 'down' | 'up' | 'cycle' | 'reset' | 'diag' | 'soft' | 'invalid'
  cc: number
  /** False when the `lie` fault swallowed it. */
  applied: boolean
  at: number
}

export interface CommandContext {
  spec: BmcSpec
  sim: DeviceSimulator
  sessions: SessionTable
  /** Undefined for session-less requests. */
  session?: BmcSession
  /** Chassis Control requests, for tests and the lab's control API. */
  controls: ControlRecord[]
}

type Handler = (data: Buffer, ctx: CommandContext) => Answer

interface CommandSpec {
  /** Privilege the session must be at; undefined = also allowed before a session. */
  privilege?: number
  handler: Handler
}

const key = (netFn: number, cmd: number) => (netFn << 8) | cmd

function authCaps(data: Buffer, ctx: CommandContext): Answer {
  if (data.length < 2) return { cc: 0xc7 }
  const rq = decodeAuthCapsRequest(data)
  if (rq.channel !== 0x0e && rq.channel !== LAN_CHANNEL) return { cc: 0xcc }
  if (rq.privilege < Privilege.CALLBACK || rq.privilege > Privilege.OEM) return { cc: 0xcc }
  return {
    cc: 0,
    data: encodeAuthCaps({
      channel: LAN_CHANNEL,
      // v2.0 data only when asked; no IPMI v1.5 authentication type is enabled at all
      v20Data: rq.v20,
      v15AuthTypes: 0,
      kgSet: rq.v20 && ctx.spec.kg !== undefined,
      perMessageAuthDisabled: false,
      userLevelAuthDisabled: false,
      nonNullUsers: true,
      nullUsers: false,
      anonymousLogin: false,
      ipmi20: rq.v20,
      ipmi15: false,
      oemIana: 0,
      oemAux: 0,
    }),
  }
}

function cipherSuites(data: Buffer, ctx: CommandContext): Answer {
  if (data.length < 3) return { cc: 0xc7 }
  const rq = decodeCipherSuitesRequest(data)
  if (rq.channel !== 0x0e && rq.channel !== LAN_CHANNEL) return { cc: 0xcc }
  const profiles = ctx.spec.cipherSuites.map((id) => PROFILES.get(id)!)
  let bytes: Buffer
  if (rq.payloadType !== 0) bytes = Buffer.alloc(0)
  else if (rq.bySuite)
    bytes = encodeCipherSuiteRecords(
      profiles.map((p) => ({
        id: p.suite,
        auth: [p.auth],
        integrity: [p.integrity],
        confidentiality: [p.confidentiality],
      })),
    )
  else {
    const algs = new Set<number>()
    for (const p of profiles) {
      algs.add(p.auth)
      algs.add(0x40 | p.integrity)
      algs.add(0x80 | p.confidentiality)
    }
    bytes = Buffer.from([...algs])
  }
  const chunk = bytes.subarray(rq.index * CIPHER_SUITE_CHUNK, (rq.index + 1) * CIPHER_SUITE_CHUNK)
  return { cc: 0, data: Buffer.concat([Buffer.from([LAN_CHANNEL]), chunk]) }
}

function setSessionPrivilege(data: Buffer, ctx: CommandContext): Answer {
  const s = ctx.session!
  if (data.length < 1) return { cc: 0xc7 }
  const level = data.readUInt8(0) & 0x0f
  if (level === 0) return { cc: 0, data: [s.privilege] }
  if (level < Privilege.CALLBACK || level > Privilege.OEM) return { cc: 0xcc }
  if (level > CHANNEL_PRIVILEGE_LIMIT || level > s.user!.privilege || level > s.maxPriv) return { cc: 0x81 }
  s.privilege = level
  return { cc: 0, data: [level] }
}

function closeSession(data: Buffer, ctx: CommandContext): Answer {
  if (data.length < 4) return { cc: 0xc7 }
  const sid = decodeCloseSessionRequest(data)
  const s = ctx.session!
  if (sid === s.bmcSid) return { cc: 0 } // removed by the caller once the answer is sent
  const other = ctx.sessions.get(sid)
  if (!other) return { cc: 0x87 }
  if (s.privilege < Privilege.ADMINISTRATOR) return { cc: 0xd4 }
  ctx.sessions.remove(sid)
  return { cc: 0 }
}

function deviceId(): Answer {
  return {
    cc: 0,
    data: encodeDeviceId({
      deviceId: 0x20,
      deviceRevision: 1,
      firmwareMajor: 1,
      firmwareMinor: 0x00,
      ipmiVersion: 0x02,
      additionalSupport: 0x01, // chassis device
      manufacturerId: 0, // unspecified: this is a simulator
      productId: 0xfe6a,
    }),
  }
}

function chassisStatus(_data: Buffer, ctx: CommandContext): Answer {
  return {
    cc: 0,
    data: encodeChassisStatus({
      powerOn: ctx.sim.state(PLUG) === 'on',
      overload: false,
      interlock: false,
      mainPowerFault: false,
      powerControlFault: false,
      restorePolicy: 1,
      lastEvent: 0,
      misc: 0,
    }),
  }
}

function chassisControl(data: Buffer, ctx: CommandContext): Answer {
  if (data.length < 1) return { cc: 0xc7 }
  const v = data.readUInt8(0) & 0x0f
  const on = ctx.sim.state(PLUG) === 'on'
  const record = (action: ControlRecord['action'], cc: number, applied: boolean): Answer => {
    ctx.controls.push({ action, cc, applied, at: Date.now() })
    if (ctx.controls.length > 1000) ctx.controls.splice(0, ctx.controls.length - 1000)
    return { cc }
  }
  switch (v) {
    case ChassisControl.POWER_DOWN:
      return record('down', 0, ctx.sim.command(PLUG, 'off'))
    case ChassisControl.POWER_UP:
      return record('up', 0, ctx.sim.command(PLUG, 'on'))
    case ChassisControl.POWER_CYCLE:
      // real BMCs refuse to cycle a chassis that is off ("not supported in present state")
      if (!on) return record('cycle', 0xd5, false)
      return record('cycle', 0, ctx.sim.command(PLUG, 'cycle'))
    case ChassisControl.HARD_RESET:
      // a reset keeps the power on: nothing changes that a status read could see
      if (!on) return record('reset', 0xd5, false)
      return record('reset', 0, !ctx.sim.faults.lies(PLUG))
    case ChassisControl.SOFT_SHUTDOWN:
      if (!on) return record('soft', 0xd5, false)
      return record('soft', 0, ctx.sim.command(PLUG, 'off', ctx.spec.softShutdownMs))
    case ChassisControl.PULSE_DIAG:
      return record('diag', 0xcc, false) // no NMI on this BMC (ipmi_sim answers the same)
    default:
      return record('invalid', 0xcc, false)
  }
}

export const COMMANDS: ReadonlyMap<number, CommandSpec> = new Map([
  [key(NetFn.APP, Cmd.GET_CHANNEL_AUTH_CAPS), { handler: authCaps }],
  [key(NetFn.APP, Cmd.GET_CHANNEL_CIPHER_SUITES), { handler: cipherSuites }],
  [key(NetFn.APP, Cmd.GET_DEVICE_ID), { privilege: Privilege.USER, handler: deviceId }],
  [
    key(NetFn.APP, Cmd.SET_SESSION_PRIVILEGE),
    { privilege: Privilege.CALLBACK, handler: setSessionPrivilege },
  ],
  [key(NetFn.APP, Cmd.CLOSE_SESSION), { privilege: Privilege.CALLBACK, handler: closeSession }],
  [key(NetFn.CHASSIS, Cmd.GET_CHASSIS_STATUS), { privilege: Privilege.USER, handler: chassisStatus }],
  [key(NetFn.CHASSIS, Cmd.CHASSIS_CONTROL), { privilege: Privilege.OPERATOR, handler: chassisControl }],
])

/** Commands a client may send before a session (session id 0). */
export function isSessionless(netFn: number, cmd: number): boolean {
  const c = COMMANDS.get(key(netFn, cmd))
  return c !== undefined && c.privilege === undefined
}

/** Execute one request; `ctx.session` undefined means session-less. */
export function execute(netFn: number, cmd: number, data: Buffer, ctx: CommandContext): Answer {
  const c = COMMANDS.get(key(netFn, cmd))
  if (!c) return { cc: 0xc1 }
  if (c.privilege !== undefined) {
    if (!ctx.session) return { cc: 0xd4 }
    if (ctx.session.privilege < c.privilege) return { cc: 0xd4 }
  }
  return c.handler(data, ctx)
}
