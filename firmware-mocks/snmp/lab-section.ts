/**
 * The `snmp:` section of an SNMP mock in a lab file, and the driver section that reaches the
 * mock. Lab credentials are a rehearsal's, not a real device's; the driver still gets them
 * only through 0600 files (communityFile, authKeyFile, privKeyFile), as in production.
 *
 *   snmp:
 *     community: private          # read-write, v1/v2c (default private)
 *     readCommunity: public       # read-only (default public)
 *     users:                      # SNMPv3 USM
 *       - { name: fence, authProtocol: sha256, authKey: fence-auth-key, privProtocol: aes, privKey: fence-priv-key }
 */
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import type { FieldProblem } from '../../core/problems.js'
import { Type } from 'typebox'
import { Fields, describe } from '../../core/fields.js'
import { Opt } from '../../core/options.js'
import { asMapping } from '../../core/yaml.js'
import type { AgentAccess, AgentUser } from './agent.js'

const AUTH = ['sha', 'sha224', 'sha256', 'sha384', 'sha512', 'md5'] as const
const PRIV = ['aes', 'aes256b', 'aes256r'] as const
const LEVELS = ['noAuthNoPriv', 'authNoPriv', 'authPriv'] as const

export function readSnmpLab(
  section: Record<string, unknown>,
  base: (string | number)[],
): { access: AgentAccess; problems: FieldProblem[] } {
  const problems: FieldProblem[] = []
  const path = [...base, 'snmp']
  const raw = section.snmp === undefined ? {} : asMapping(section.snmp)
  if (!raw) problems.push({ path, message: `expected a mapping, got ${describe(section.snmp)}` })
  const f = new Fields(raw ?? {}, path)
  const community = f.str('community', { default: 'private' })
  const readCommunity = f.str('readCommunity', { default: 'public' })
  const engineID = f.optStr('engineID')
  if (engineID !== undefined && !/^(?:[0-9a-fA-F]{2}){5,32}$/.test(engineID))
    problems.push({ path: [...path, 'engineID'], message: 'expected 5 to 32 bytes in hex' })
  const users: AgentUser[] = []
  const list = raw?.users ?? []
  if (!Array.isArray(list)) problems.push({ path: [...path, 'users'], message: 'expected a list of users' })
  else
    for (const [i, u] of list.entries()) {
      const m = asMapping(u)
      const up = [...path, 'users', i]
      if (!m) {
        problems.push({ path: up, message: 'expected {name, authKey, privKey…}' })
        continue
      }
      const g = new Fields(m, up)
      const name = g.str('name')
      const authKey = g.optStr('authKey')
      const privKey = g.optStr('privKey')
      const level = g.oneOf('level', LEVELS, privKey ? 'authPriv' : authKey ? 'authNoPriv' : 'noAuthNoPriv')
      const authProtocol = g.oneOf('authProtocol', AUTH, 'sha')
      const privProtocol = g.oneOf('privProtocol', PRIV, 'aes')
      const access = g.oneOf('access', ['rw', 'ro'] as const, 'rw')
      g.noOthers()
      problems.push(...g.problems)
      if (level !== 'noAuthNoPriv' && (authKey?.length ?? 0) < 8)
        problems.push({
          path: [...up, 'authKey'],
          message: `level ${level} needs an authKey of 8 characters or more`,
        })
      if (level === 'authPriv' && (privKey?.length ?? 0) < 8)
        problems.push({
          path: [...up, 'privKey'],
          message: 'level authPriv needs a privKey of 8 characters or more',
        })
      users.push({
        name,
        level,
        authProtocol,
        privProtocol,
        access,
        ...(level !== 'noAuthNoPriv' ? { authKey } : {}),
        ...(level === 'authPriv' ? { privKey } : {}),
      })
    }
  f.mark('users')
  f.noOthers()
  problems.push(...f.problems)
  return { access: { community, readCommunity, users, ...(engineID ? { engineID } : {}) }, problems }
}

function secretFile(dir: string, name: string, value: string): string {
  const file = path.join(dir, name)
  writeFileSync(file, `${value}\n`, { mode: 0o600 })
  return file
}

/** The lab's SNMP access for a mock's info(): communities and users, never their keys. */
export function snmpAccessInfo(access: AgentAccess): Record<string, unknown> {
  return {
    community: access.community,
    readCommunity: access.readCommunity,
    users: access.users.map((u) => ({ name: u.name, level: u.level, access: u.access })),
  }
}

/**
 * The SNMP fields of a driver section reaching the mock: SNMPv3 with the first read-write user
 * when the lab has one, else v2c with the read-write community.
 */
export function snmpDriverFields(
  id: string,
  access: AgentAccess,
  secretsDir: string,
): Record<string, unknown> {
  const user = access.users.find((u) => u.access === 'rw')
  if (!user)
    return { version: '2c', communityFile: secretFile(secretsDir, `${id}.community`, access.community) }
  return {
    version: '3',
    user: user.name,
    securityLevel: user.level,
    ...(user.authKey
      ? {
          authProtocol: user.authProtocol,
          authKeyFile: secretFile(secretsDir, `${id}.${user.name}.authKey`, user.authKey),
        }
      : {}),
    ...(user.privKey
      ? {
          privProtocol: user.privProtocol,
          privKeyFile: secretFile(secretsDir, `${id}.${user.name}.privKey`, user.privKey),
        }
      : {}),
  }
}

/** The `snmp:` option of an SNMP mock's lab section (read by readSnmpLab). */
export const SNMP_LAB_OPTION = Opt.custom<AgentAccess>(
  Type.Object({}),
  "the agent's access: `community`, `readCommunity`, `engineID`, `users: [{name, authProtocol, authKey, privProtocol, privKey, level, access}]`",
  {
    type: 'mapping',
    defaultText: 'communities `private` (rw) and `public` (ro), no users',
    read: (f) => {
      const { access, problems } = readSnmpLab(f.section, f.base)
      f.problems.push(...problems)
      return access
    },
  },
)
