import { Fields } from '../../src/config/fields.js'
import type { FieldProblem, SecretRef } from '../driver.js'

/**
 * Every option of the apc-menu driver, read in this one file (to be ported to a declarative
 * schema; docs/drivers/apc-menu.md has the table by hand meanwhile).
 */
export interface ApcMenuConfig {
  host: string
  port: number
  /** `telnet` (port 23) or `ssh` (port 22). */
  transport: 'telnet' | 'ssh'
  user: string
  password: SecretRef
  /** SSH only: the unit's host key, `SHA256:…` as `ssh-keygen -lf` prints it, or `any` written out. */
  hostKey?: string
  connectTimeoutMs: number
  /** From connect to the first prompt after login. */
  loginTimeoutMs: number
  /** One menu screen or one CLI command. */
  replyTimeoutMs: number
  /** May the unit's Immediate Reboot serve an operator's cycle? Never used for fencing. */
  deviceCycle: boolean
}

export function readApcMenuConfig(section: Record<string, unknown>): {
  config: ApcMenuConfig
  problems: FieldProblem[]
} {
  const f = new Fields(section)
  const problems: FieldProblem[] = []
  const transport = f.oneOf('transport', ['telnet', 'ssh'] as const, 'telnet')
  const host = f.str('host')
  const port = f.int('port', { default: transport === 'ssh' ? 22 : 23, min: 1, max: 65535 })
  const user = f.str('user', { default: 'apc' })
  const password = f.secret('password', { required: true }) ?? {}
  const hostKey = f.optStr('hostKey')
  if (transport === 'ssh' && !hostKey)
    problems.push({
      path: ['hostKey'],
      message: "required with transport ssh: the unit's host key fingerprint (SHA256:…), or any written out",
    })
  if (hostKey && transport !== 'ssh')
    problems.push({ path: ['hostKey'], message: 'hostKey is for transport ssh' })
  if (hostKey && hostKey !== 'any' && !/^SHA256:[A-Za-z0-9+/]{43}=?$/.test(hostKey))
    problems.push({
      path: ['hostKey'],
      message: `expected SHA256:<43 base64 characters> or any, got '${hostKey}'`,
    })
  const config: ApcMenuConfig = {
    host,
    port,
    transport,
    user,
    password,
    hostKey,
    connectTimeoutMs: f.duration('connectTimeout', 5000, { min: 1, max: 60_000 }),
    loginTimeoutMs: f.duration('loginTimeout', 10_000, { min: 100, max: 120_000 }),
    replyTimeoutMs: f.duration('replyTimeout', 5000, { min: 50, max: 60_000 }),
    deviceCycle: f.bool('deviceCycle', false),
  }
  f.noOthers()
  return { config, problems: [...problems, ...f.problems] }
}
