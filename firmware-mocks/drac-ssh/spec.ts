import type { FieldProblem } from '../../core/problems.js'
import { Type } from 'typebox'
import type { DracModel } from '../../protocols/racadm.js'
import { Fields } from '../../core/fields.js'
import { Opt, readOptions } from '../../core/options.js'
import { USER_NAME, readLabUsers } from '../lab-users.js'
import type { CommonLabSpec } from '../mock.js'

/** A DRAC account. Lab passwords are test data, not secrets of a real device. */
export interface DracUser {
  name: string
  password?: string
  /** An authorized public key, one OpenSSH line (`ssh-ed25519 AAAA… comment`). */
  publicKey?: string
}

export interface DracSpec {
  model: DracModel
  users: DracUser[]
  /** The host key is derived from this (default: the device id), so it is stable across restarts. */
  hostKeySeed?: string
  /** Another lab device (a redfish iDRAC) whose machine this racadm powers: one simulator for both. */
  machineOf?: string
}

export const DEFAULT_USERS: DracUser[] = [{ name: 'root', password: 'calvin' }]

/** What the lab gives `plugs` when a section leaves it out (firmware-mocks/lab-file.ts). */
const DEFAULT_PLUGS = 8

/** The own fields of a `kind: drac-ssh` lab device. */
export const DRAC_LAB_OPTIONS = {
  model: Opt.oneOf(
    ['drac5', 'cmc'],
    'a DRAC 5 (one plug, `system`) or a chassis CMC (`plugs: N` slots, `server-N`)',
    {
      default: 'drac5',
    },
  ),
  users: Opt.custom<DracUser[]>(
    Type.Array(Type.Object({ name: Type.String(), password: Type.String(), publicKey: Type.String() })),
    'the accounts: `{name, password?, publicKey?}`, `publicKey` one OpenSSH line (lab passwords are test data)',
    { type: 'list', defaultText: '`root` / `calvin`', read: (f, name) => readUsers(f, name) },
  ),
  machineOf: Opt.optionalString(
    'model drac5: the redfish lab device whose machine this racadm powers (one simulator behind both)',
  ),
  hostKeySeed: Opt.optionalString(
    'the host key is derived from it (absent: from the device id): the same fingerprint on every start',
  ),
}

function readUsers(f: Fields, name: string): DracUser[] {
  return readLabUsers(f, name, {
    shape: 'name, password and/or publicKey',
    defaults: DEFAULT_USERS,
    readUser: (u, at) => {
      const user: DracUser = { name: u.str('name', USER_NAME) }
      const password = u.optStr('password')
      const publicKey = u.optStr('publicKey')
      if (password !== undefined) user.password = password
      if (publicKey !== undefined) {
        if (!/^(ssh-ed25519|ecdsa-sha2-nistp\d+|ssh-rsa) [A-Za-z0-9+/=]+/.test(publicKey))
          u.problems.push({ path: [...at, 'publicKey'], message: 'expected one OpenSSH public key line' })
        user.publicKey = publicKey
      }
      if (password === undefined && publicKey === undefined)
        u.problems.push({ path: at, message: 'a user needs a password or a publicKey' })
      return user
    },
  })
}

/**
 * Read the own fields of a `kind: drac-ssh` lab device; `plugs` is the lab's (a DRAC 5 has
 * one server: any other count than the lab's default is refused).
 */
export function readDracSpec(
  section: Record<string, unknown>,
  path: (string | number)[],
  common: CommonLabSpec,
): { spec: DracSpec; problems: FieldProblem[] } {
  const f = new Fields(section, path)
  const o = readOptions(f, DRAC_LAB_OPTIONS)
  const spec: DracSpec = { model: o.model, users: o.users }
  // the lab fills in 8 when plugs is left out: a DRAC 5 accepts that, 1, or [system]
  const plugs = common.plugs
  const one = Array.isArray(plugs)
    ? plugs.length === 1 && plugs[0]!.id === 'system'
    : plugs === 1 || plugs === DEFAULT_PLUGS
  if (o.model === 'drac5' && !one)
    f.problems.push({
      path: [...path, 'plugs'],
      message: 'a DRAC 5 powers one server: leave plugs out (a CMC has slots)',
    })
  if (o.machineOf !== undefined) {
    spec.machineOf = o.machineOf
    if (o.model !== 'drac5')
      f.problems.push({
        path: [...path, 'machineOf'],
        message: 'only a DRAC 5 / iDRAC racadm (model: drac5) shares a machine',
      })
  }
  if (o.hostKeySeed !== undefined) spec.hostKeySeed = o.hostKeySeed
  f.noOthers()
  return { spec, problems: f.problems }
}
