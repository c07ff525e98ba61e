import type { FieldProblem } from '../../drivers/driver.js'
import type { DracModel } from '../../protocols/racadm.js'
import { Fields, describe } from '../../src/config/fields.js'
import { asMapping } from '../../src/config/yaml.js'

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

export function readDracSpec(
  section: Record<string, unknown>,
  path: (string | number)[],
): { spec: DracSpec; problems: FieldProblem[] } {
  const f = new Fields(section, path)
  const problems: FieldProblem[] = []
  const at = (...p: (string | number)[]) => [...path, ...p]
  let users = DEFAULT_USERS
  if (section.users !== undefined) {
    if (!Array.isArray(section.users) || section.users.length === 0)
      problems.push({
        path: at('users'),
        message: `expected a list of {name, password and/or publicKey}, got ${describe(section.users)}`,
      })
    else
      users = section.users.map((raw, i) => {
        const u = new Fields(asMapping(raw) ?? {}, at('users', i))
        const user: DracUser = {
          name: u.str('name', { pattern: /^[\x21-\x7e]{1,16}$/, hint: '1 to 16 printable ASCII characters' }),
        }
        const password = u.optStr('password')
        const publicKey = u.optStr('publicKey')
        if (password !== undefined) user.password = password
        if (publicKey !== undefined) {
          if (!/^(ssh-ed25519|ecdsa-sha2-nistp\d+|ssh-rsa) [A-Za-z0-9+/=]+/.test(publicKey))
            problems.push({
              path: at('users', i, 'publicKey'),
              message: 'expected one OpenSSH public key line',
            })
          user.publicKey = publicKey
        }
        if (password === undefined && publicKey === undefined)
          problems.push({ path: at('users', i), message: 'a user needs a password or a publicKey' })
        u.noOthers()
        problems.push(...u.problems)
        return user
      })
  }
  f.mark('users')
  const model = f.oneOf('model', ['drac5', 'cmc'] as const, 'drac5')
  if (model === 'drac5' && section.plugs !== undefined && section.plugs !== 1)
    problems.push({
      path: at('plugs'),
      message: 'a DRAC 5 powers one server: leave plugs out (a CMC has slots)',
    })
  const spec: DracSpec = { model, users }
  const machineOf = f.optStr('machineOf')
  if (machineOf !== undefined) {
    spec.machineOf = machineOf
    if (model !== 'drac5')
      problems.push({
        path: at('machineOf'),
        message: 'only a DRAC 5 / iDRAC racadm (model: drac5) shares a machine',
      })
  }
  const seed = f.optStr('hostKeySeed')
  if (seed !== undefined) spec.hostKeySeed = seed
  f.noOthers(['kind', 'listen', 'plugs', 'transitionDelay', 'initial'])
  problems.push(...f.problems)
  return { spec, problems }
}
