/**
 * Every driver + mock firmware pair. Each entry joins both the conformance suite
 * (test/conformance) and the fault suite (test/faults): a driver issue adds one entry here.
 */
import type { FaultType } from '../firmware-mocks/simulator.js'

export interface DriverMockPair {
  /** Test name: `dummy`, `rps10-tcp`, `apc-snmp-rpdu-v3`… */
  name: string
  /**
   * The lab device section, as in a lab file. Network mocks: `listen: '127.0.0.1:0'` (any free
   * port). Serial mocks: `pty: '{tmp}/name'`; `{tmp}` is replaced by a fresh temp directory.
   */
  lab: Record<string, unknown>
  /** Plugs the suites may switch: two or three, or the one plug of a single-target device. */
  plugs: string[]
  /** The driver does the device's own cycle when deviceCycle is allowed. */
  deviceCycle: boolean
  /** Merged into the driver section that the mock factory's driverSection() gives (test timeouts). */
  driverOverrides?: Record<string, unknown>
  /** Faults this protocol can express; default all of FAULT_TYPES. */
  faults?: FaultType[]
  /**
   * Persistent drop, stall and disconnect make every action fail (the default). A protocol
   * whose client reconnects around a one-connection fault (a new TCP connection, a new
   * session) may set false: the suite then checks only that a success is true.
   */
  faultsAlwaysFail?: boolean
  /** A deadline comfortably above one device round (ms); the fault suite uses it. Default 3000. */
  deadlineMs?: number
  /**
   * false: the driver cannot read its outlets back (its factory says `verifies: false`; the
   * conformance suite checks the two agree). The suites then assert the unverified contract:
   * status reads unknown, operator power says unverified, fencing is refused. Default true.
   */
  verifies?: boolean
}

export const PAIRS: DriverMockPair[] = [
  {
    name: 'dummy',
    lab: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 4 },
    plugs: ['1', '2', '3'],
    deviceCycle: true,
    driverOverrides: { deviceCycle: true, requestTimeout: '300ms' },
  },
  {
    // WTI RPS-10 chain on a real pseudo-terminal (python3 pty helper); plug ids = unit addresses
    name: 'rps10-pty',
    lab: { kind: 'rps10', pty: '{tmp}/rps10', plugs: 4, toggleDelay: '300ms', readyDelay: '100ms' },
    plugs: ['0', '1', '2'],
    deviceCycle: true,
    driverOverrides: { deviceCycle: true, replyTimeout: '600ms', readyTimeout: '1s' },
  },
  {
    // the same chain behind a raw TCP terminal server (ser2net style)
    name: 'rps10-tcp',
    lab: { kind: 'rps10', listen: '127.0.0.1:0', plugs: 4, toggleDelay: '300ms', readyDelay: '100ms' },
    plugs: ['0', '1', '2'],
    deviceCycle: true,
    driverOverrides: { deviceCycle: true, replyTimeout: '600ms', settle: '300ms' },
  },
  {
    // APC Smart-UPS on a pty: one plug, the load; Z and ^N go twice, 1.6 s apart, so rounds are slow
    name: 'apc-smartups-pty',
    lab: { kind: 'apc-smartups', pty: '{tmp}/ttyUPS', shutdownDelays: ['001', '020'], wakeupDelays: ['000'] },
    plugs: ['load'],
    deviceCycle: true,
    driverOverrides: { deviceCycle: true, repeatGap: '1600ms', replyTimeout: '500ms' },
    deadlineMs: 6000,
  },
  {
    // Night/Ware RPC-100S on a pty: one outlet, no status command (unverified: operator power only)
    name: 'nw-rpc100s-pty',
    lab: { kind: 'nw-rpc100s', pty: '{tmp}/ttyNW', transitionDelay: '50ms' },
    plugs: ['outlet'],
    deviceCycle: true,
    driverOverrides: { deviceCycle: true, cycleOff: '1s', replyTimeout: '600ms', probeTimeout: '600ms' },
    verifies: false,
  },
  {
    // the same unit behind a raw TCP terminal server
    name: 'nw-rpc100s-tcp',
    lab: { kind: 'nw-rpc100s', listen: '127.0.0.1:0', transitionDelay: '50ms' },
    plugs: ['outlet'],
    deviceCycle: false,
    driverOverrides: { replyTimeout: '600ms', probeTimeout: '600ms' },
    verifies: false,
  },
  // APC PDUs over SNMP (apc-snmp ↔ apc-pdu): one pair per family and SNMP version/security
  {
    name: 'apc-snmp-rpdu-v2c',
    lab: { kind: 'apc-pdu', model: 'rPDU', listen: '127.0.0.1:0', plugs: 8, cycleOff: '200ms' },
    plugs: ['1', '2', '3'],
    deviceCycle: true,
    driverOverrides: { deviceCycle: true, timeout: '300ms', retries: 1 },
  },
  {
    name: 'apc-snmp-rpdu2-v3-authpriv',
    lab: {
      kind: 'apc-pdu',
      model: 'rPDU2',
      listen: '127.0.0.1:0',
      plugs: 8,
      cycleOff: '200ms',
      snmp: {
        users: [
          {
            name: 'fence',
            authProtocol: 'sha256',
            authKey: 'fence-auth-key',
            privProtocol: 'aes',
            privKey: 'fence-priv-key',
          },
        ],
      },
    },
    plugs: ['5', '6', '7'],
    deviceCycle: false,
  },
  {
    name: 'apc-snmp-spdu-v1',
    lab: { kind: 'apc-pdu', model: 'sPDU', listen: '127.0.0.1:0', plugs: 8, cycleOff: '200ms' },
    plugs: ['1', '2', '3'],
    deviceCycle: true,
    driverOverrides: { version: '1', deviceCycle: true, timeout: '300ms', retries: 1 },
  },
  {
    name: 'apc-snmp-msp-v2c',
    lab: { kind: 'apc-pdu', model: 'MSP', listen: '127.0.0.1:0', plugs: 8, cycleOff: '200ms' },
    plugs: ['1:1', '1:2', '1:3'],
    deviceCycle: true,
    driverOverrides: { deviceCycle: true, timeout: '300ms', retries: 1 },
  },
  {
    // WTI MPC over SNMP v1 like cluster-glue's wti_mpc; a plug is a plug group
    name: 'wti-snmp-mib3-v1',
    lab: { kind: 'wti-pdu', mib: 3, listen: '127.0.0.1:0', plugs: 4 },
    plugs: ['1', '2', '3'],
    deviceCycle: true,
    driverOverrides: { version: '1', deviceCycle: true, timeout: '300ms', retries: 1 },
  },
  {
    // WTI MIB v1: no plug table, so a group cannot be read back (unverified without groupReadBack: trusted)
    name: 'wti-snmp-mib1-unverified',
    lab: { kind: 'wti-pdu', mib: 1, listen: '127.0.0.1:0', plugs: 4 },
    plugs: ['1', '2', '3'],
    deviceCycle: true,
    driverOverrides: { version: '1', deviceCycle: true, timeout: '300ms', retries: 1 },
    verifies: false,
  },
  // BMCs over IPMI v2.0 / RMCP+ (ipmi ↔ bmc): a single-target device, one plug, chassis
  ...[17, 3].map((suite) => ({
    name: `ipmi-suite${suite}`,
    lab: { kind: 'bmc', listen: '127.0.0.1:0', cipherSuites: [17, 3] },
    plugs: ['chassis'],
    deviceCycle: true,
    driverOverrides: {
      cipherSuite: suite,
      deviceCycle: true,
      unreachableTimeout: '600ms',
      requestTimeout: '600ms',
    },
    // a session is eight round trips; a lie waits out the deadline (keep the suite short)
    deadlineMs: 4000,
  })),
]
