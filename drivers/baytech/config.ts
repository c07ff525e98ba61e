import { Fields } from '../../src/config/fields.js'
import type { FieldProblem, SecretRef } from '../driver.js'

/**
 * Every option of the baytech driver, read in this one file (to be ported to a declarative
 * schema; docs/drivers/baytech.md has the table by hand meanwhile).
 */
export interface BaytechConfig {
  host: string
  port: number
  user: string
  password: SecretRef
  connectTimeoutMs: number
  loginTimeoutMs: number
  replyTimeoutMs: number
  /** `REBOOT n` returns when power is applied again: up to this long. */
  commandTimeoutMs: number
  /** May the unit's `REBOOT` serve an operator's cycle? Never used for fencing. */
  deviceCycle: boolean
}

export function readBaytechConfig(section: Record<string, unknown>): {
  config: BaytechConfig
  problems: FieldProblem[]
} {
  const f = new Fields(section)
  const config: BaytechConfig = {
    host: f.str('host'),
    port: f.int('port', { default: 23, min: 1, max: 65535 }),
    user: f.str('user'),
    password: f.secret('password', { required: true }) ?? {},
    connectTimeoutMs: f.duration('connectTimeout', 5000, { min: 1, max: 60_000 }),
    loginTimeoutMs: f.duration('loginTimeout', 10_000, { min: 100, max: 120_000 }),
    replyTimeoutMs: f.duration('replyTimeout', 5000, { min: 50, max: 60_000 }),
    commandTimeoutMs: f.duration('commandTimeout', 30_000, { min: 100, max: 300_000 }),
    deviceCycle: f.bool('deviceCycle', false),
  }
  f.noOthers()
  return { config, problems: f.problems }
}
