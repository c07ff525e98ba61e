import { Type } from 'typebox'
import type { FieldProblem } from '../../core/problems.js'
import { RESET_TYPES, type ResetType } from '../../protocols/redfish.js'
import { Fields, describe } from '../../core/fields.js'
import { Opt, readOptions } from '../../core/options.js'
import { USER_NAME, readLabUsers } from '../lab-users.js'

export const ROLES = ['Administrator', 'Operator', 'ReadOnly'] as const
export type RedfishRole = (typeof ROLES)[number]

/** A Redfish account of the mock. Lab passwords are test data, not secrets of a real device. */
export interface RedfishUser {
  name: string
  password: string
  role: RedfishRole
}

/** The kind-specific part of a `kind: redfish` lab device. */
export interface RedfishSpec {
  users: RedfishUser[]
  /** ComputerSystems: System.Embedded.1 … N (a real iDRAC has one). */
  systems: number
  /** Is there a session service (POST …/Sessions)? Without one, clients use basic auth. */
  sessionService: boolean
  /** ResetType@Redfish.AllowableValues of every system (iDRAC 9's list by default). */
  resetTypes: ResetType[]
  /** Time from an accepted GracefulShutdown to off: the operating system shutting down. */
  gracefulShutdownMs: number
  model: string
}

/** What iDRAC 9 advertises (Dell's Redfish API guide). */
export const IDRAC_RESET_TYPES: ResetType[] = [
  'On',
  'ForceOff',
  'ForceRestart',
  'GracefulRestart',
  'GracefulShutdown',
  'PushPowerButton',
  'Nmi',
  'PowerCycle',
]

/** iDRAC's factory default account (root / calvin). */
export const DEFAULT_USERS: RedfishUser[] = [{ name: 'root', password: 'calvin', role: 'Administrator' }]

/** The own fields of a `kind: redfish` lab device. */
export const REDFISH_LAB_OPTIONS = {
  users: Opt.custom<RedfishUser[]>(
    Type.Array(Type.Object({ name: Type.String(), password: Type.String(), role: Type.String() })),
    'the accounts: `{name, password, role: Administrator | Operator | ReadOnly}` (lab passwords are test data)',
    {
      type: 'list',
      defaultText: '`root` / `calvin`, Administrator',
      read: (f, name) => readUsers(f, name),
    },
  ),
  systems: Opt.int(
    'ComputerSystems `System.Embedded.1`…`N` (a real iDRAC has one); with more, each is a plug',
    {
      default: 1,
      min: 1,
      max: 1000,
    },
  ),
  sessionService: Opt.bool(
    'is there a session service (POST …/Sessions)? Without one, clients use basic auth',
    {
      default: true,
    },
  ),
  resetTypes: Opt.custom<ResetType[]>(
    Type.Array(Type.String()),
    "every system's `ResetType@Redfish.AllowableValues`",
    {
      type: `list of ${RESET_TYPES.join(', ')}`,
      defaultText: "iDRAC 9's",
      read: (f, name) => {
        const v = f.section[name]
        if (v === undefined) return IDRAC_RESET_TYPES
        if (!Array.isArray(v) || !v.every((x) => (RESET_TYPES as readonly string[]).includes(String(x)))) {
          f.problems.push({
            path: [...f.base, name],
            message: `expected a list of ${RESET_TYPES.join(', ')}, got ${describe(v)}`,
          })
          return IDRAC_RESET_TYPES
        }
        return v.map(String) as ResetType[]
      },
    },
  ),
  gracefulShutdownTime: Opt.duration(
    'from an accepted GracefulShutdown to off: the operating system shutting down',
    {
      default: 1000,
      min: 0,
      max: 600_000,
    },
  ),
  model: Opt.string("the system's `Model`", { default: 'PowerEdge R650' }),
}

function readUsers(f: Fields, name: string): RedfishUser[] {
  return readLabUsers(f, name, {
    shape: 'name, password, role',
    defaults: DEFAULT_USERS,
    readUser: (u) => ({
      name: u.str('name', USER_NAME),
      password: u.str('password', { pattern: /^.{1,40}$/s, hint: '1 to 40 characters' }),
      role: u.oneOf('role', ROLES, 'Administrator'),
    }),
  })
}

/** Read the own fields of a `kind: redfish` lab device (the common ones are the lab's). */
export function readRedfishSpec(
  section: Record<string, unknown>,
  path: (string | number)[],
): { spec: RedfishSpec; problems: FieldProblem[] } {
  const f = new Fields(section, path)
  const o = readOptions(f, REDFISH_LAB_OPTIONS)
  const spec: RedfishSpec = {
    users: o.users,
    systems: o.systems,
    sessionService: o.sessionService,
    resetTypes: o.resetTypes,
    gracefulShutdownMs: o.gracefulShutdownTimeMs,
    model: o.model,
  }
  f.noOthers()
  return { spec, problems: f.problems }
}
