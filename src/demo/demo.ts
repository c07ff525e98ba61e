/**
 * What `fencegate serve --demo` runs: mock devices started in-process and the nodes they power.
 *
 * A driver issue adds its device here with one entry: the device's lab section (as in a lab
 * file, see docs/lab.md) and the demo nodes it powers (config node sections, see
 * docs/configuration.md). Rules for entries:
 *  - node names start with `demo-`;
 *  - network devices listen on `127.0.0.1:0` (any free port: the demo must start beside
 *    anything), serial devices on `pty: '{dir}/NAME'` (`{dir}` is the demo's state directory);
 *  - keep transition delays short (the demo should feel quick) but not zero (real hardware
 *    is not instant, and the demo shows that);
 *  - a node may name plugs of any demo device (e.g. level 1 your BMC, level 2 a PDU outlet):
 *    the config is checked as a whole.
 */
export interface DemoDevice {
  /** The device id, in the lab and in the gateway config. */
  id: string
  /** The lab section: `kind`, `listen` or `pty`, `plugs`, `transitionDelay`, kind's own fields. */
  lab: Record<string, unknown>
  /** Config node sections by node name: `{ plugs: [...] }` or `{ levels: [[...], [...]] }`. */
  nodes: Record<string, Record<string, unknown>>
}

export const DEMO_DEVICES: DemoDevice[] = [
  {
    id: 'demo-pdu-a',
    lab: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 8, transitionDelay: '150ms' },
    nodes: {
      // group: a label the dashboard groups tiles by
      'demo-1': { plugs: ['demo-pdu-a:1'], group: 'rack-a' },
      'demo-2': { plugs: ['demo-pdu-a:2', 'demo-pdu-b:2'], group: 'rack-a' }, // two power supplies
      'demo-3': { levels: [['demo-pdu-a:3'], ['demo-pdu-b:3']], group: 'rack-b' }, // two fencing levels
      'demo-4': { plugs: ['demo-pdu-a:4'], fenceAction: 'reboot', group: 'rack-b' },
    },
  },
  {
    id: 'demo-pdu-b',
    lab: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 8, transitionDelay: '150ms' },
    nodes: {},
  },
  {
    // an APC MasterSwitch (AP79xx menus, firmware v3) over telnet: the driver logs in for each
    // call, walks the menus by label and logs out (the unit takes one session). See
    // docs/drivers/apc-menu.md.
    id: 'demo-masterswitch',
    lab: {
      kind: 'apc-menu',
      listen: '127.0.0.1:0',
      firmware: 'ap79xx-v3',
      transitionDelay: '100ms',
      plugs: [
        { id: '1', name: 'demo-ms-1' },
        { id: '2', name: 'demo-ms-2' },
        ...Array.from({ length: 6 }, (_, i) => ({ id: String(i + 3), name: `spare-${i + 3}` })),
      ],
    },
    nodes: {
      'demo-ms-1': { plugs: ['demo-masterswitch:1'] },
      'demo-ms-2': { plugs: ['demo-masterswitch:2'] },
    },
  },
  {
    // a WTI RPS-10 chain of two units behind a raw TCP terminal server (ser2net style);
    // plug ids are unit addresses. See docs/drivers/rps10.md.
    id: 'demo-rps',
    lab: { kind: 'rps10', listen: '127.0.0.1:0', plugs: 2, transitionDelay: '100ms', initial: 'on' },
    nodes: { 'demo-rps-0': { plugs: ['demo-rps:0'] } },
  },
  // BMCs over IPMI v2.0 / RMCP+ (one plug each, chassis; a node names the BMC alone).
  // See docs/drivers/ipmi.md. demo-ipmi-1 is fenced by its BMC first, a PDU outlet second.
  ...[1, 2, 3].map(
    (n): DemoDevice => ({
      id: `demo-bmc-${n}`,
      lab: {
        kind: 'bmc',
        listen: '127.0.0.1:0',
        transitionDelay: '300ms',
        users: [{ name: 'fence', password: `demo-bmc-${n}-pw`, privilege: 'operator' }],
        // the third is an older BMC without SHA-256: cipher suite 3
        ...(n === 3 ? { cipherSuites: [3] } : {}),
      },
      nodes: {
        [`demo-ipmi-${n}`]:
          n === 1 ? { levels: [['demo-bmc-1'], ['demo-pdu-b:5']] } : { plugs: [`demo-bmc-${n}`] },
      },
    }),
  ),
  // A Dell iDRAC reached two ways, one machine behind both: Redfish over HTTPS (certificate
  // pinned by fingerprint) and racadm over SSH (host key pinned). demo-dell-1 is fenced by
  // Redfish first, racadm second. See docs/drivers/redfish.md and docs/drivers/drac-ssh.md.
  {
    id: 'demo-idrac',
    lab: {
      kind: 'redfish',
      listen: '127.0.0.1:0',
      transitionDelay: '400ms',
      users: [{ name: 'fence', password: 'demo-idrac-pw', role: 'Operator' }],
    },
    nodes: { 'demo-dell-1': { levels: [['demo-idrac'], ['demo-idrac-racadm']] } },
  },
  {
    id: 'demo-idrac-racadm',
    lab: {
      kind: 'drac-ssh',
      model: 'drac5',
      machineOf: 'demo-idrac',
      listen: '127.0.0.1:0',
      users: [{ name: 'fence', password: 'demo-idrac-pw' }],
    },
    nodes: {},
  },
  {
    // an APC Switched Rack PDU (rPDU, AP7920) over SNMPv3 authPriv (SHA-256, AES); demo-db has two
    // power supplies on it. See docs/drivers/apc-snmp.md.
    id: 'demo-apc',
    lab: {
      kind: 'apc-pdu',
      model: 'rPDU',
      listen: '127.0.0.1:0',
      transitionDelay: '150ms',
      cycleOff: '2s',
      plugs: [
        { id: '1', name: 'demo-db-psu-a' },
        { id: '2', name: 'demo-db-psu-b' },
        ...Array.from({ length: 10 }, (_, i) => ({ id: String(i + 3), name: `demo-web-${i + 1}` })),
      ],
      snmp: {
        users: [
          {
            name: 'fence',
            authProtocol: 'sha256',
            authKey: 'demo-apc-auth',
            privProtocol: 'aes',
            privKey: 'demo-apc-priv',
          },
        ],
      },
    },
    nodes: {
      'demo-db': { plugs: ['demo-apc:1', 'demo-apc:2'] },
      'demo-web-1': { plugs: ['demo-apc:demo-web-1'] }, // an outlet by its name
    },
  },
  {
    // a WTI MPC over SNMP (MIB v3 plug groups): a driver plug is a group; demo-app-1's group
    // switches its two plugs together. See docs/drivers/wti-snmp.md.
    id: 'demo-wti',
    lab: {
      kind: 'wti-pdu',
      mib: 3,
      listen: '127.0.0.1:0',
      plugs: 8,
      transitionDelay: '150ms',
      groups: { 'demo-app-1': [1, 2], 'demo-app-2': [3] },
    },
    nodes: { 'demo-app-1': { plugs: ['demo-wti:demo-app-1'] }, 'demo-app-2': { plugs: ['demo-wti:2'] } },
  },
  {
    // a Night/Ware RPC-100S (one outlet, no status command) behind a raw TCP terminal server: an
    // unverified device. It switches power but can never say so, so it can never fence: its node
    // is fence: false (operator on/off/cycle only, results say unverified, status unknown).
    // See docs/drivers/nw-rpc100s.md.
    id: 'demo-nw',
    lab: { kind: 'nw-rpc100s', listen: '127.0.0.1:0', transitionDelay: '100ms' },
    nodes: { 'demo-console': { plugs: ['demo-nw'], fence: false } },
  },
  {
    // a 4-port USB 3 hub with per-port power (its USB 2 companion switched with it) powering four
    // Raspberry Pi class boards; switched through the sysfs disable files of a fake sysfs tree.
    // See docs/drivers/usb-hub.md.
    id: 'demo-usb-hub',
    lab: { kind: 'usb-hub', usb: 3, plugs: 4, transitionDelay: '100ms' },
    nodes: Object.fromEntries([1, 2, 3, 4].map((n) => [`demo-pi-${n}`, { plugs: [`demo-usb-hub:${n}`] }])),
  },
  {
    // a CH340 serial relay board (LCUS-2) on a pseudo-terminal: it takes frames and answers nothing,
    // so it is unverified: its node is fence: false (operator power only, results say unverified).
    // See docs/drivers/usb-relay.md.
    id: 'demo-usb-relay',
    lab: { kind: 'usb-relay', board: 'ch340', pty: '{dir}/ttyRelay', plugs: 2, transitionDelay: '50ms' },
    nodes: { 'demo-lamp': { plugs: ['demo-usb-relay:1'], fence: false } },
  },
]

/** The demo's engine settings (config `engine:` section): quick, so a newcomer sees results fast. */
export const DEMO_ENGINE: Record<string, unknown> = {
  powerWait: '1s',
  fenceHold: '10s',
  probeInterval: '10s',
  defaultTimeout: '20s',
}
