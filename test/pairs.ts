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
  /**
   * false: the device answers nothing at all (a CH340 relay board takes frames and says nothing),
   * so no client can tell a lost, late or stalled command from a done one: the suites skip the
   * checks that need an answer (a dropped status read failing, a stalled read, a late answer past
   * the deadline); such a device is always unverified. Default true.
   */
  answers?: boolean
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
  // USB hubs (usb-hub ↔ usb-hub): a port is a plug; in-process simulated bus + fake sysfs tree
  {
    // a USB 2 hub on a kernel without sysfs disable: hub class requests only
    name: 'usb-hub-usb2-requests',
    lab: { kind: 'usb-hub', usb: 2, plugs: 4, sysfs: false },
    plugs: ['1', '2', '3'],
    deviceCycle: false,
  },
  {
    // a USB 3 hub and its USB 2 companion, switched through sysfs disable files
    name: 'usb-hub-usb3-sysfs',
    lab: { kind: 'usb-hub', usb: 3, plugs: 4 },
    plugs: ['1', '2', '3'],
    deviceCycle: false,
  },
  {
    // USB 3 over hub requests, the kernel powering a port back on once (off is repeated)
    name: 'usb-hub-usb3-requests-repower',
    lab: { kind: 'usb-hub', usb: 3, plugs: 4, sysfs: false, kernelRepower: true },
    plugs: ['2', '3', '4'],
    deviceCycle: false,
  },
  // USB relay boards (usb-relay ↔ usb-relay): a relay is a plug
  {
    // dcttech USBRelay4 at the feature-report level (simulated HID bus): read back, verified
    name: 'usb-relay-dcttech',
    lab: { kind: 'usb-relay', board: 'dcttech', plugs: 4 },
    plugs: ['1', '2', '3'],
    deviceCycle: false,
  },
  {
    // CH340 board on a pty: A0 ch op sum, no answer at all, so no client can see a lost, late or
    // mangled frame: only the lie (a stuck relay) is a fault it can express; unverified
    name: 'usb-relay-ch340-pty',
    lab: { kind: 'usb-relay', board: 'ch340', pty: '{tmp}/ttyRelay', plugs: 4 },
    plugs: ['1', '2', '3'],
    deviceCycle: false,
    driverOverrides: { frameGap: '10ms' },
    faults: ['lie'],
    verifies: false,
    answers: false,
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
  // APC consoles over telnet (apc-menu ↔ apc-menu): one login session per call; a fence is several
  ...(
    [
      ['ap79xx-v3', 24], // 24 outlets: the list pages after 22
      ['ap79xx-v3-drift', 8], // the menus moved: the driver walks by labels
      ['ap9211', 8],
      ['aos', 8],
    ] as const
  ).map(([firmware, plugs]) => ({
    name: `apc-menu-${firmware}`,
    lab: { kind: 'apc-menu', listen: '127.0.0.1:0', firmware, plugs },
    plugs: plugs > 22 ? ['23', '2', '24'] : ['1', '2', '3'],
    deviceCycle: true,
    driverOverrides: { deviceCycle: true, replyTimeout: '800ms', loginTimeout: '2s' },
    deadlineMs: 8000,
  })),
  {
    // the same console over SSH (password at the SSH layer, host key pinned by fingerprint)
    name: 'apc-menu-ssh-ap79xx-v3',
    lab: {
      kind: 'apc-menu',
      listen: '127.0.0.1:0',
      ssh: { listen: '127.0.0.1:0' },
      firmware: 'ap79xx-v3',
      plugs: 8,
    },
    plugs: ['1', '2', '3'],
    deviceCycle: true,
    driverOverrides: { deviceCycle: true, replyTimeout: '800ms', loginTimeout: '3s', connectTimeout: '3s' },
    deadlineMs: 10000,
  },
  // WTI NPS / IPS consoles over telnet (wti-nps ↔ wti-nps)
  ...[{ confirm: true }, { user: 'fence', prompt: 'IPS', confirm: false }].map((variant, i) => ({
    name: `wti-nps-${i === 0 ? 'nps' : 'ips-login'}`,
    lab: { kind: 'wti-nps', listen: '127.0.0.1:0', plugs: 8, bootDelay: '200ms', ...variant },
    plugs: ['1', '2', '3'],
    deviceCycle: true,
    driverOverrides: { deviceCycle: true, replyTimeout: '800ms', loginTimeout: '2s', commandTimeout: '2s' },
    deadlineMs: 8000,
  })),
  {
    // BayTech RPC-5 over telnet (baytech ↔ baytech)
    name: 'baytech-rpc5',
    lab: { kind: 'baytech', listen: '127.0.0.1:0', plugs: 8, rebootDelay: '200ms' },
    plugs: ['1', '2', '3'],
    deviceCycle: true,
    driverOverrides: { deviceCycle: true, replyTimeout: '800ms', loginTimeout: '2s', commandTimeout: '2s' },
    deadlineMs: 8000,
  },
  // iDRAC-like BMC over Redfish (redfish ↔ redfish): one plug, system; the certificate pinned
  {
    name: 'redfish-idrac',
    lab: { kind: 'redfish', listen: '127.0.0.1:0', transitionDelay: '100ms' },
    plugs: ['system'],
    deviceCycle: true,
    driverOverrides: { deviceCycle: true, unreachableTimeout: '600ms', requestTimeout: '800ms' },
  },
  // Dell DRAC 5 and chassis CMC, racadm over SSH (drac-ssh ↔ drac-ssh); host key pinned
  {
    name: 'drac-ssh-drac5',
    lab: { kind: 'drac-ssh', model: 'drac5', listen: '127.0.0.1:0', transitionDelay: '100ms' },
    plugs: ['system'],
    deviceCycle: true,
    driverOverrides: { deviceCycle: true, loginTimeout: '1500ms', commandTimeout: '800ms' },
  },
  {
    name: 'drac-ssh-cmc',
    lab: { kind: 'drac-ssh', model: 'cmc', listen: '127.0.0.1:0', plugs: 4, transitionDelay: '100ms' },
    plugs: ['server-1', 'server-2', 'server-3'],
    deviceCycle: false,
    driverOverrides: { loginTimeout: '1500ms', commandTimeout: '800ms' },
  },
]
