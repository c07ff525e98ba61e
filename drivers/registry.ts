/**
 * Every driver kind the gateway knows. A driver issue adds one line here.
 * The pairing of drivers and their mock firmware is listed in firmware-mocks/registry.ts.
 */
import { dummyDriver } from './dummy/index.js'
import { apcMenuDriver } from './apc-menu/index.js'
import { wtiNpsDriver } from './wti-nps/index.js'
import { baytechDriver } from './baytech/index.js'
import { rps10Driver } from './rps10/index.js'
import { smartUpsDriver } from './apc-smartups/index.js'
import { apcSnmpDriver } from './apc-snmp/index.js'
import { wtiSnmpDriver } from './wti-snmp/index.js'
import { ipmiDriver } from './ipmi/index.js'
import { nwRpc100sDriver } from './nw-rpc100s/index.js'
import { redfishDriver } from './redfish/index.js'
import { dracSshDriver } from './drac-ssh/index.js'
import { usbHubDriver } from './usb-hub/index.js'
import { usbRelayDriver } from './usb-relay/index.js'
import type { DriverFactory } from './driver.js'

// biome-ignore lint/suspicious/noExplicitAny: each factory's config type is its own; the map holds them all
type AnyDriverFactory = DriverFactory<any>

export const DRIVERS: ReadonlyMap<string, AnyDriverFactory> = new Map<string, AnyDriverFactory>(
  [
    dummyDriver,
    rps10Driver,
    smartUpsDriver,
    apcSnmpDriver,
    wtiSnmpDriver,
    ipmiDriver,
    apcMenuDriver,
    wtiNpsDriver,
    baytechDriver,
    nwRpc100sDriver,
    redfishDriver,
    dracSshDriver,
    usbHubDriver,
    usbRelayDriver,
  ].map((d) => [d.kind, d]),
)
