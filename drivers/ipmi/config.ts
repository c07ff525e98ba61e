import { RMCP_PORT } from '../../protocols/ipmi/constants.js'
import { Fields } from '../../src/config/fields.js'
import type { FieldProblem, SecretRef } from '../driver.js'

export type IpmiPrivilege = 'operator' | 'administrator'

export interface IpmiConfig {
  host: string
  port: number
  user: string
  password: SecretRef
  /** BMC key (Kg), hex in the file or variable, as ipmitool -y. */
  kg?: SecretRef
  /** 17 (RAKP-HMAC-SHA256, HMAC-SHA256-128, AES-CBC-128) or 3 (the SHA1 variant). */
  cipherSuite: 17 | 3
  privilege: IpmiPrivilege
  /** With no answer at all to anything for this long, the BMC is reported unreachable. */
  unreachableTimeoutMs: number
  /** Once the BMC has answered, how long one request may take, retransmissions included. */
  requestTimeoutMs: number
  /** First retransmission interval; it doubles up to 1 s. */
  retransmitMs: number
}

const WEAK_SUITES =
  'suites 0-2 and 15-16 lack authentication, integrity or encryption, 4-14 use MD5 or RC4: fencegate speaks only 17 and 3'

export function readIpmiConfig(section: Record<string, unknown>): {
  config: IpmiConfig
  problems: FieldProblem[]
} {
  const f = new Fields(section)
  const problems: FieldProblem[] = []
  const host = f.str('host', { pattern: /^[A-Za-z0-9.:_[\]-]+$/, hint: 'a host name or address' })
  const port = f.int('port', { default: RMCP_PORT, min: 1, max: 65535 })
  const user = f.str('user', { hint: 'the BMC user name (1 to 16 bytes)' })
  if (f.has('user') && (user.length === 0 || Buffer.byteLength(user) > 16))
    problems.push({
      path: ['user'],
      message: 'IPMI user names are 1 to 16 bytes; empty (anonymous) users are refused',
    })
  const password = f.secret('password', { required: true }) ?? {}
  const kg = f.secret('kg', { required: false })
  const suite = f.int('cipherSuite', { default: 17 })
  if (suite !== 17 && suite !== 3)
    problems.push({ path: ['cipherSuite'], message: `expected 17 or 3, got ${suite}: ${WEAK_SUITES}` })
  if (f.has('lanplus') || f.has('authType'))
    problems.push({
      path: ['lanplus'],
      message: 'IPMI v1.5 sessions are refused: this driver speaks RMCP+ (IPMI v2.0) only',
    })
  f.mark('lanplus', 'authType')
  const config: IpmiConfig = {
    host,
    port,
    user,
    password,
    cipherSuite: suite === 3 ? 3 : 17,
    privilege: f.oneOf('privilege', ['operator', 'administrator'] as const, 'operator'),
    unreachableTimeoutMs: f.duration('unreachableTimeout', 2000, { min: 50, max: 600_000 }),
    requestTimeoutMs: f.duration('requestTimeout', 3000, { min: 50, max: 600_000 }),
    retransmitMs: f.duration('retransmit', 250, { min: 10, max: 10_000 }),
  }
  if (kg) config.kg = kg
  f.noOthers()
  return { config, problems: [...f.problems, ...problems] }
}
