/**
 * Every mock firmware kind a lab can start, and (in each factory's `driver`) the driver that
 * talks to it: the one place the driver/mock pairing is listed. A driver issue adds one line.
 */
import { dummyMock } from './dummy/index.js'
import { apcMenuMock } from './apc-menu/index.js'
import { wtiNpsMock } from './wti-nps/index.js'
import { baytechMock } from './baytech/index.js'
import { rps10Mock } from './rps10/index.js'
import { smartUpsMock } from './apc-smartups/index.js'
import { apcPduMock } from './apc-pdu/index.js'
import { wtiPduMock } from './wti-pdu/index.js'
import { bmcMock } from './bmc/index.js'
import { nwRpc100sMock } from './nw-rpc100s/index.js'
import { redfishMock } from './redfish/index.js'
import { dracSshMock } from './drac-ssh/index.js'
import { usbHubMock } from './usb-hub/index.js'
import { usbRelayMock } from './usb-relay/index.js'
import type { MockFactory } from './mock.js'

// biome-ignore lint/suspicious/noExplicitAny: each factory's config type is its own; the map holds them all
type AnyMockFactory = MockFactory<any>

export const MOCKS: ReadonlyMap<string, AnyMockFactory> = new Map<string, AnyMockFactory>(
  [
    dummyMock,
    rps10Mock,
    nwRpc100sMock,
    smartUpsMock,
    apcPduMock,
    wtiPduMock,
    apcMenuMock,
    wtiNpsMock,
    baytechMock,
    bmcMock,
    redfishMock,
    dracSshMock,
    usbHubMock,
    usbRelayMock,
  ].map((m) => [m.kind, m]),
)
