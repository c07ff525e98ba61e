/**
 * The options of fence_fencegate, as data: one table drives the stdin parser, the getopt
 * parser, validation and the metadata XML, so the three never disagree. Names, short flags
 * and value forms follow fence-agents (fencing.py), because Pacemaker, pcs and people already
 * speak them.
 */

export type OptionType = 'string' | 'second' | 'integer' | 'boolean' | 'select'

export interface OptionSpec {
  /** The stdin key and the metadata parameter name. */
  name: string
  /** getopt short flag, without the dash. */
  short?: string
  /** getopt long flag, without the dashes; defaults to the name with `_` → `-`. */
  long?: string
  /** Shown in `<getopt mixed>` after the flag, e.g. `[seconds]`. */
  arg?: string
  type: OptionType
  choices?: readonly string[]
  /** As written in the metadata (a string, as fence-agents prints it). */
  default?: string
  required?: boolean
  shortdesc: string
  /** Older names still accepted (fence-agents' `port` → `plug`); listed as deprecated in metadata. */
  obsoletes?: string
  /** getopt only (help, version): not in the metadata, never on stdin. */
  flagOnly?: boolean
  /** A comma-separated list: the getopt flag may be repeated and the values add up. */
  list?: boolean
}

export const ACTIONS = [
  'on',
  'off',
  'reboot',
  'status',
  'list',
  'list-status',
  'monitor',
  'metadata',
  'validate-all',
] as const
export type AgentAction = (typeof ACTIONS)[number]

/** Order = metadata order. */
export const OPTIONS: readonly OptionSpec[] = [
  {
    name: 'action',
    short: 'o',
    arg: '[action]',
    type: 'string',
    default: 'reboot',
    shortdesc: 'Fencing action',
  },
  {
    name: 'url',
    arg: '[url]',
    type: 'string',
    default: 'http://127.0.0.1:8443',
    list: true,
    shortdesc:
      'URL of the fencegate gateway, or a comma-separated list of its replicas, tried in turn when one cannot be reached (--url may be repeated); if not given, the environment variable FENCEGATE_URL',
  },
  {
    name: 'token_file',
    arg: '[file]',
    type: 'string',
    shortdesc:
      'File holding the API token (a fencer token; the file must not be readable by group or others)',
  },
  {
    name: 'password_script',
    short: 'S',
    arg: '[script]',
    type: 'string',
    obsoletes: 'passwd_script',
    shortdesc: 'Script whose standard output is the API token (instead of token_file)',
  },
  {
    name: 'plug',
    short: 'n',
    arg: '[node]',
    type: 'string',
    obsoletes: 'port',
    shortdesc: 'Node name as the gateway knows it (e.g. node1), never an outlet number',
  },
  {
    name: 'power_timeout',
    arg: '[seconds]',
    type: 'second',
    default: '40',
    shortdesc: 'Deadline of the power operation, passed to the gateway',
  },
  {
    name: 'connect_timeout',
    arg: '[seconds]',
    type: 'second',
    default: '2',
    shortdesc: 'Give up when the gateway does not accept the connection within this time',
  },
  {
    name: 'read_timeout',
    arg: '[seconds]',
    type: 'second',
    default: '10',
    shortdesc:
      'Give up on one gateway when a read-only request (status, list, monitor, the check before off/on/reboot) gets no answer within this time',
  },
  {
    name: 'delay',
    arg: '[seconds]',
    type: 'second',
    default: '0',
    shortdesc: 'Wait X seconds before fencing is started (off and reboot)',
  },
  {
    name: 'allow_simulated',
    type: 'boolean',
    default: '0',
    shortdesc: 'Accept a gateway that answers as simulated (the demo: mock devices); for tests only',
  },
  {
    name: 'ssl_insecure',
    type: 'boolean',
    default: '0',
    shortdesc: "Do not verify the gateway's TLS certificate",
  },
  {
    name: 'ca_file',
    arg: '[file]',
    type: 'string',
    shortdesc: "CA certificate (PEM) that signed the gateway's TLS certificate",
  },
  {
    name: 'separator',
    short: 'C',
    arg: '[char]',
    type: 'string',
    default: ',',
    shortdesc: "Separator for CSV created by 'list' operation",
  },
  {
    name: 'quiet',
    short: 'q',
    type: 'boolean',
    shortdesc: 'Disable logging to stderr (failures are still printed)',
  },
  {
    name: 'verbose',
    short: 'v',
    type: 'boolean',
    shortdesc: 'Verbose mode: log every request to the gateway on stderr',
  },
  {
    name: 'debug_file',
    short: 'D',
    arg: '[debugfile]',
    type: 'string',
    obsoletes: 'debug',
    shortdesc: 'Write debug information to given file',
  },
  {
    name: 'version',
    short: 'V',
    type: 'boolean',
    flagOnly: true,
    shortdesc: 'Display version information and exit',
  },
  { name: 'help', short: 'h', type: 'boolean', flagOnly: true, shortdesc: 'Display help and exit' },
]

/**
 * Options of other fence agents that Pacemaker or pcs users carry over. They are accepted and
 * ignored with a note saying why: the gateway owns the device timing and never cycles.
 */
export const IGNORED: Readonly<Record<string, string>> = {
  login_timeout: 'the gateway owns device sessions; connect_timeout bounds the connection to it',
  shell_timeout: 'the gateway owns device sessions; power_timeout bounds the operation',
  power_wait: "the gateway waits the node's powerWait from its config",
  stonith_status_sleep: 'the gateway reads the state back itself',
  retry_on: 'the gateway retries transient device errors itself',
  method: 'fencing through the gateway is always hard off, read back off (never a device cycle)',
  disable_timeout: 'the agent always bounds itself (connect_timeout, power_timeout)',
  plug_separator: 'plug is one node name and is never split',
  verbose_level: 'use verbose',
}

/** Passed by Pacemaker's fencer with every action; accepted silently, as fence-agents do. */
export const SILENT = new Set(['nodename', 'nodeid'])

/** Secrets that must never sit in the CIB or on a command line. */
export const REFUSED: Readonly<Record<string, string>> = {
  password:
    'the token is not accepted as a parameter (it would be stored in the CIB in clear): use token_file or password_script',
  passwd:
    'the token is not accepted as a parameter (it would be stored in the CIB in clear): use token_file or password_script',
}

export const longName = (o: OptionSpec): string => o.long ?? o.name.replaceAll('_', '-')

const BY_NAME = new Map<string, OptionSpec>()
for (const o of OPTIONS) {
  BY_NAME.set(o.name, o)
  if (o.obsoletes) BY_NAME.set(o.obsoletes, o)
}
const BY_SHORT = new Map(OPTIONS.filter((o) => o.short).map((o) => [o.short!, o]))

/** The option a stdin key or long flag names (`-` and `_` alike, old names too). */
export function lookup(name: string): OptionSpec | undefined {
  return BY_NAME.get(name.replaceAll('-', '_'))
}

export function lookupShort(flag: string): OptionSpec | undefined {
  return BY_SHORT.get(flag)
}
