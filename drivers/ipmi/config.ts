import { RMCP_PORT } from '../../protocols/ipmi/constants.js'
import { Type } from 'typebox'
import { Fields } from '../../core/fields.js'
import { Opt, type OptionValues, readOptions } from '../../core/options.js'
import type { FieldProblem } from '../driver.js'

export type IpmiPrivilege = 'operator' | 'administrator'

const WEAK_SUITES =
  'suites 0-2 and 15-16 lack authentication, integrity or encryption, 4-14 use MD5 or RC4: fencegate speaks only 17 and 3'

/** The ipmi driver's config section (besides `driver` and the common `deviceCycle`). */
export const IPMI_OPTIONS = {
  host: Opt.string('the BMC: a host name or address', {
    pattern: /^[A-Za-z0-9.:_[\]-]+$/,
    hint: 'a host name or address',
  }),
  port: Opt.int('its UDP port (RMCP+)', { default: RMCP_PORT, min: 1, max: 65535 }),
  user: Opt.custom<string>(
    Type.String({ minLength: 1 }),
    'the BMC user: 1 to 16 bytes (anonymous users are refused)',
    {
      type: 'text',
      defaultText: 'required',
      read: (f, name) => {
        const user = f.str(name, { hint: 'the BMC user name (1 to 16 bytes)' })
        if (f.has(name) && (user.length === 0 || Buffer.byteLength(user) > 16))
          f.problems.push({
            path: [...f.base, name],
            message: 'IPMI user names are 1 to 16 bytes; empty (anonymous) users are refused',
          })
        return user
      },
    },
  ),
  password: Opt.secret("the user's password, 1 to 20 bytes", { required: true }),
  kg: Opt.secret('the BMC key (Kg) in hex, as `ipmitool -y`', { required: false }),
  cipherSuite: Opt.custom<17 | 3>(
    Type.Union([Type.Literal(17), Type.Literal(3)]),
    '17 (RAKP-HMAC-SHA256, AES-CBC-128) or 3 (the SHA-1 variant); weaker suites are refused',
    {
      type: '`17`, `3`',
      defaultText: '`17`',
      read: (f, name) => {
        const suite = f.int(name, { default: 17 })
        if (suite !== 17 && suite !== 3)
          f.problems.push({
            path: [...f.base, name],
            message: `expected 17 or 3, got ${suite}: ${WEAK_SUITES}`,
          })
        return suite === 3 ? 3 : 17
      },
    },
  ),
  privilege: Opt.oneOf(['operator', 'administrator'], 'the session privilege', { default: 'operator' }),
  unreachableTimeout: Opt.duration(
    'with no answer at all to anything for this long, the BMC is unreachable',
    {
      default: 2000,
      min: 50,
      max: 600_000,
    },
  ),
  requestTimeout: Opt.duration(
    'once the BMC has answered, how long one request may take, retransmissions included',
    {
      default: 3000,
      min: 50,
      max: 600_000,
    },
  ),
  retransmit: Opt.duration('first retransmission interval; it doubles up to 1 s', {
    default: 250,
    min: 10,
    max: 10_000,
  }),
}

export type IpmiConfig = OptionValues<typeof IPMI_OPTIONS>

export function readIpmiConfig(section: Record<string, unknown>): {
  config: IpmiConfig
  problems: FieldProblem[]
} {
  const f = new Fields(section)
  const config = readOptions(f, IPMI_OPTIONS)
  if (f.has('lanplus') || f.has('authType'))
    f.problems.push({
      path: ['lanplus'],
      message: 'IPMI v1.5 sessions are refused: this driver speaks RMCP+ (IPMI v2.0) only',
    })
  f.mark('lanplus', 'authType')
  f.noOthers()
  return { config, problems: f.problems }
}
