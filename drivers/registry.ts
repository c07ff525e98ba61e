/**
 * Every driver kind the gateway knows. A driver issue adds one line here.
 * The pairing of drivers and their mock firmware is listed in firmware-mocks/registry.ts.
 */
import { Fields, describe } from '../core/fields.js'
import { Opt, readOptions } from '../core/options.js'
import { FenceError } from '../core/errors.js'
import { apcMenuDriver } from './apc-menu/index.js'
import { baytechDriver } from './baytech/index.js'
import { wtiNpsDriver } from './wti-nps/index.js'
import { smartUpsDriver } from './apc-smartups/index.js'
import { apcSnmpDriver } from './apc-snmp/index.js'
import type { DriverContext, DriverFactory, FieldProblem, PowerDriver } from './driver.js'
import { dummyDriver } from './dummy/index.js'
import { ipmiDriver } from './ipmi/index.js'
import { nwRpc100sDriver } from './nw-rpc100s/index.js'
import { rps10Driver } from './rps10/index.js'
import { wtiSnmpDriver } from './wti-snmp/index.js'
import { redfishDriver } from './redfish/index.js'
import { dracSshDriver } from './drac-ssh/index.js'
import { usbHubDriver } from './usb-hub/index.js'
import { usbRelayDriver } from './usb-relay/index.js'

// biome-ignore lint/suspicious/noExplicitAny: each factory's config type is its own; the map holds them all
export type AnyDriverFactory = DriverFactory<any>

export const DRIVERS: ReadonlyMap<string, AnyDriverFactory> = new Map<string, AnyDriverFactory>(
  [
    dummyDriver,
    rps10Driver,
    nwRpc100sDriver,
    smartUpsDriver,
    apcSnmpDriver,
    wtiSnmpDriver,
    apcMenuDriver,
    wtiNpsDriver,
    baytechDriver,
    ipmiDriver,
    redfishDriver,
    dracSshDriver,
    usbHubDriver,
    usbRelayDriver,
  ].map((d) => [d.kind, d]),
)

/**
 * The fields every device section has, whatever its driver: read here once, taken off the
 * section before the driver's own `validate` sees it.
 */
export const COMMON_DEVICE_FIELDS = ['driver', 'deviceCycle'] as const

/** The common fields besides `driver`, declared as every driver's own options are. */
export const COMMON_DEVICE_OPTIONS = {
  deviceCycle: Opt.bool(
    "may an operator's `cycle` use the device's own cycle command? Fences and reboots never do (they are off, verify, on)",
    { default: false },
  ),
}

/** A device section read: its driver kind, the common fields, and the driver's own config. */
export interface DeviceSection {
  /** The driver kind; undefined when `driver:` names none (a problem says so). */
  kind?: string
  /** May an operator's cycle use the device's own cycle command? Never a fence (rule 2). */
  deviceCycle: boolean
  /** The driver's validated config (undefined without a driver). */
  config: unknown
  /** Can the device read its outlets back (DriverFactory.verifies for this config)? */
  verifies: boolean
  /** Paths below the device. */
  problems: FieldProblem[]
}

/** Read one device section: `driver` and the common fields here, the rest by the driver's factory. */
export function readDeviceSection(section: Record<string, unknown>): DeviceSection {
  const f = new Fields(section)
  const { driver, deviceCycle: _c, ...rest } = section
  f.mark('driver')
  const { deviceCycle } = readOptions(f, COMMON_DEVICE_OPTIONS)
  const factory = DRIVERS.get(String(driver))
  if (!factory)
    return {
      deviceCycle,
      config: undefined,
      verifies: true,
      problems: [
        {
          path: ['driver'],
          message: `expected one of ${[...DRIVERS.keys()].join(', ')}, got ${describe(driver)}`,
        },
        ...f.problems,
      ],
    }
  const { config, problems } = factory.validate(rest)
  const verifies = typeof factory.verifies === 'function' ? factory.verifies(config) : factory.verifies
  return {
    kind: factory.kind,
    deviceCycle,
    config,
    verifies: verifies !== false,
    problems: [...f.problems, ...problems],
  }
}

/** A driver for a device read by readDeviceSection (the engine's DeviceRunner decides on `deviceCycle`). */
export function createDriver(device: { kind: string; config: unknown }, ctx: DriverContext): PowerDriver {
  const factory = DRIVERS.get(device.kind)
  if (!factory) throw new FenceError('CONFIG_INVALID', `${ctx.deviceId}: no driver '${device.kind}'`)
  return factory.create(device.config, ctx)
}
