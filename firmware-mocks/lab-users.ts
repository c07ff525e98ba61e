import { Fields, describe } from '../core/fields.js'
import { asMapping } from '../core/yaml.js'

/** A lab user's name as the BMC mocks take it: 1 to 16 printable ASCII characters. */
export const USER_NAME = { pattern: /^[\x21-\x7e]{1,16}$/, hint: '1 to 16 printable ASCII characters' }

/**
 * The `users:` list of a mock that logs users in (bmc, redfish, drac-ssh): absent = the kind's
 * defaults; otherwise a non-empty list of mappings, each read by `readUser` with its own Fields
 * (its problems under `users.N`), names unique. `shape` names the fields in the error.
 */
export function readLabUsers<U extends { name: string }>(
  f: Fields,
  name: string,
  o: { shape: string; defaults: U[]; readUser: (u: Fields, at: (string | number)[]) => U },
): U[] {
  const list = f.section[name]
  if (list === undefined) return o.defaults
  const at = (...p: (string | number)[]) => [...f.base, name, ...p]
  if (!Array.isArray(list) || list.length === 0) {
    f.problems.push({ path: at(), message: `expected a list of {${o.shape}}, got ${describe(list)}` })
    return o.defaults
  }
  const users = list.map((raw, i) => {
    const u = new Fields(asMapping(raw) ?? {}, at(i))
    const user = o.readUser(u, at(i))
    u.noOthers()
    f.problems.push(...u.problems)
    return user
  })
  if (new Set(users.map((u) => u.name)).size !== users.length)
    f.problems.push({ path: at(), message: 'user names must be unique' })
  return users
}
