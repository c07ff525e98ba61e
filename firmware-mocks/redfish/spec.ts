import type { FieldProblem } from '../../drivers/driver.js'
import { RESET_TYPES, type ResetType } from '../../protocols/redfish.js'
import { Fields, describe } from '../../src/config/fields.js'
import { asMapping } from '../../src/config/yaml.js'

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

export function readRedfishSpec(
  section: Record<string, unknown>,
  path: (string | number)[],
): { spec: RedfishSpec; problems: FieldProblem[] } {
  const f = new Fields(section, path)
  const problems: FieldProblem[] = []
  const at = (...p: (string | number)[]) => [...path, ...p]
  let users = DEFAULT_USERS
  if (section.users !== undefined) {
    if (!Array.isArray(section.users) || section.users.length === 0) {
      problems.push({
        path: at('users'),
        message: `expected a list of {name, password, role}, got ${describe(section.users)}`,
      })
    } else {
      users = section.users.map((raw, i) => {
        const u = new Fields(asMapping(raw) ?? {}, at('users', i))
        const name = u.str('name', {
          pattern: /^[\x21-\x7e]{1,16}$/,
          hint: '1 to 16 printable ASCII characters',
        })
        const password = u.str('password', { pattern: /^.{1,40}$/s, hint: '1 to 40 characters' })
        const role = u.oneOf('role', ROLES, 'Administrator')
        u.noOthers()
        problems.push(...u.problems)
        return { name, password, role }
      })
      if (new Set(users.map((u) => u.name)).size !== users.length)
        problems.push({ path: at('users'), message: 'user names must be unique' })
    }
  }
  f.mark('users')
  let resetTypes = IDRAC_RESET_TYPES
  if (section.resetTypes !== undefined) {
    const v = section.resetTypes
    if (!Array.isArray(v) || !v.every((x) => (RESET_TYPES as readonly string[]).includes(String(x))))
      problems.push({
        path: at('resetTypes'),
        message: `expected a list of ${RESET_TYPES.join(', ')}, got ${describe(v)}`,
      })
    else resetTypes = v.map(String) as ResetType[]
  }
  f.mark('resetTypes')
  const plugs = section.plugs
  if (plugs !== undefined)
    problems.push({ path: at('plugs'), message: 'a Redfish service has systems, not plugs: use systems: N' })
  const spec: RedfishSpec = {
    users,
    systems: f.int('systems', { default: 1, min: 1, max: 1000 }),
    sessionService: f.bool('sessionService', true),
    resetTypes,
    gracefulShutdownMs: f.duration('gracefulShutdownTime', 1000, { min: 0, max: 600_000 }),
    model: f.str('model', { default: 'PowerEdge R650' }),
  }
  f.noOthers(['kind', 'listen', 'plugs', 'transitionDelay', 'initial'])
  problems.push(...f.problems)
  return { spec, problems }
}
