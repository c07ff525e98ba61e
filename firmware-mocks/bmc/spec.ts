import { randomBytes } from 'node:crypto'
import type { FieldProblem } from '../../core/problems.js'
import { PRIVILEGE_BY_NAME, type PrivilegeName } from '../../protocols/ipmi/constants.js'
import { type TSchema, Type } from 'typebox'
import { Fields, describe } from '../../core/fields.js'
import { Opt, readOptions } from '../../core/options.js'
import { USER_NAME, readLabUsers } from '../lab-users.js'

/** A BMC user account. Lab passwords are test data, not secrets of a real device. */
export interface BmcUser {
  name: string
  password: string
  /** Privilege limit: 2 user, 3 operator, 4 administrator. */
  privilege: number
}

/** The kind-specific part of a `kind: bmc` lab device. */
export interface BmcSpec {
  users: BmcUser[]
  /** BMC key Kg (IPMI v2.0 "two-key" login); absent = the user's password keys the session. */
  kg?: Buffer
  /** System GUID, sent in RAKP2 (random per device unless given). */
  guid: Buffer
  /** Cipher suites offered, in Get Channel Cipher Suites order. Only 3 and 17 exist here. */
  cipherSuites: number[]
  /** A session with no traffic for this long is dropped (ipmi_sim: 30 s). */
  idleTimeoutMs: number
  /** Session table size, half-open sessions included (ipmi_sim: 63). */
  maxSessions: number
  /** How long the `disconnect` fault keeps the BMC away (port closed, sessions lost). */
  resetTimeMs: number
  /** Time from an accepted soft shutdown (ACPI) to power off: the OS shutting down. */
  softShutdownMs: number
}

export const DEFAULT_USERS: BmcUser[] = [{ name: 'admin', password: 'fencegate-lab', privilege: 4 }]

const SUITES = [3, 17]
const PRIVS = ['user', 'operator', 'administrator'] as const

/** Read by readBmcSpec's own code (lists and hex checked there); declared for the docs and the field check. */
const inCode = <T>(schema: TSchema, description: string, type: string, defaultText: string) =>
  Opt.custom<T>(schema, description, { type, defaultText, read: (f, name) => f.section[name] as T })

/** The own fields of a `kind: bmc` lab device. */
export const BMC_LAB_OPTIONS = {
  users: inCode<unknown>(
    Type.Array(Type.Object({ name: Type.String(), password: Type.String(), privilege: Type.String() })),
    'the accounts: `{name, password, privilege: user | operator | administrator}` (lab passwords are test data)',
    'list',
    '`admin` / `fencegate-lab`, administrator',
  ),
  kg: inCode<unknown>(
    Type.String(),
    'the BMC key Kg (two-key login), as `ipmitool -y`',
    '1 to 20 bytes in hex',
    'none',
  ),
  guid: inCode<unknown>(Type.String(), 'the system GUID sent in RAKP2', '16 bytes in hex', 'random'),
  cipherSuites: inCode<unknown>(
    Type.Array(Type.Integer()),
    'the suites offered, in order',
    'list of 3 and/or 17',
    '`[3, 17]`',
  ),
  idleTimeout: Opt.duration('a session with no traffic for this long is dropped (ipmi_sim: 30 s)', {
    default: 60_000,
    min: 100,
  }),
  maxSessions: Opt.int('the session table size, half-open sessions included (ipmi_sim: 63)', {
    default: 16,
    min: 1,
    max: 255,
  }),
  resetTime: Opt.duration('how long the `disconnect` fault keeps the BMC away', {
    default: 300,
    max: 60_000,
  }),
  softShutdownTime: Opt.duration('from an accepted soft shutdown (ACPI) to power off', {
    default: 1000,
    max: 600_000,
  }),
}

export function readBmcSpec(
  section: Record<string, unknown>,
  path: (string | number)[],
): { spec: BmcSpec; problems: FieldProblem[] } {
  const f = new Fields(section, path)
  const problems: FieldProblem[] = []
  const at = (...p: (string | number)[]) => [...path, ...p]

  f.mark('users')
  const users = readLabUsers(f, 'users', {
    shape: 'name, password, privilege',
    defaults: DEFAULT_USERS,
    readUser: (u, userAt) => {
      const name = u.str('name', USER_NAME)
      const password = u.str('password', {
        pattern: /^.{1,20}$/s,
        hint: '1 to 20 characters (IPMI v2.0 limit)',
      })
      if (Buffer.byteLength(password) > 20)
        u.problems.push({ path: [...userAt, 'password'], message: 'at most 20 bytes (IPMI v2.0 limit)' })
      const privilege = PRIVILEGE_BY_NAME[u.oneOf('privilege', PRIVS, 'administrator') as PrivilegeName]
      return { name, password, privilege }
    },
  })

  const kgHex = f.optStr('kg')
  let kg: Buffer | undefined
  if (kgHex !== undefined) {
    if (!/^(0x)?([0-9a-fA-F]{2}){1,20}$/.test(kgHex))
      problems.push({ path: at('kg'), message: 'expected 1 to 20 bytes in hex (as ipmitool -y)' })
    else kg = Buffer.from(kgHex.replace(/^0x/, ''), 'hex')
  }
  const guidHex = f.optStr('guid')
  let guid = randomBytes(16)
  if (guidHex !== undefined) {
    if (!/^[0-9a-fA-F]{32}$/.test(guidHex.replace(/-/g, '')))
      problems.push({ path: at('guid'), message: 'expected 16 bytes in hex' })
    else guid = Buffer.from(guidHex.replace(/-/g, ''), 'hex')
  }

  let cipherSuites = [3, 17]
  if (section.cipherSuites !== undefined) {
    const v = section.cipherSuites
    if (!Array.isArray(v) || v.length === 0 || !v.every((x) => SUITES.includes(Number(x))))
      problems.push({
        path: at('cipherSuites'),
        message: `expected a non-empty list of 3 and/or 17 (the only suites worth offering), got ${describe(v)}`,
      })
    else cipherSuites = [...new Set(v.map(Number))]
  }
  f.mark('cipherSuites')

  const o = readOptions(f, BMC_LAB_OPTIONS)
  const spec: BmcSpec = {
    users,
    guid,
    cipherSuites,
    idleTimeoutMs: o.idleTimeoutMs,
    maxSessions: o.maxSessions,
    resetTimeMs: o.resetTimeMs,
    softShutdownMs: o.softShutdownTimeMs,
  }
  if (kg) spec.kg = kg
  f.noOthers()
  problems.push(...f.problems)
  return { spec, problems }
}
