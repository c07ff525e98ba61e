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
      'demo-1': { plugs: ['demo-pdu-a:1'] },
      'demo-2': { plugs: ['demo-pdu-a:2', 'demo-pdu-b:2'] }, // two power supplies
      'demo-3': { levels: [['demo-pdu-a:3'], ['demo-pdu-b:3']] }, // two fencing levels
      'demo-4': { plugs: ['demo-pdu-a:4'], fenceAction: 'reboot' },
    },
  },
  {
    id: 'demo-pdu-b',
    lab: { kind: 'dummy', listen: '127.0.0.1:0', plugs: 8, transitionDelay: '150ms' },
    nodes: {},
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
]

/** The demo's engine settings (config `engine:` section): quick, so a newcomer sees results fast. */
export const DEMO_ENGINE: Record<string, unknown> = {
  powerWait: '1s',
  fenceHold: '10s',
  probeInterval: '10s',
  defaultTimeout: '20s',
}
