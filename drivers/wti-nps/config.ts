import { Fields } from '../../src/config/fields.js'
import type { FieldProblem, SecretRef } from '../driver.js'

/**
 * Every option of the wti-nps driver, read in this one file (to be ported to a declarative
 * schema; docs/drivers/wti-nps.md has the table by hand meanwhile).
 */
export interface WtiNpsConfig {
  host: string
  port: number
  /** Only for units that ask a login name (`Login Name:`, `username:`); older NPS ask a password only. */
  user?: string
  password: SecretRef
  connectTimeoutMs: number
  loginTimeoutMs: number
  replyTimeoutMs: number
  /** `/BOOT` (and `/ON`, `/OFF`) return the prompt only when the unit is done: up to this long. */
  commandTimeoutMs: number
  /** May the unit's `/BOOT` serve an operator's cycle? Never used for fencing. */
  deviceCycle: boolean
}

export function readWtiNpsConfig(section: Record<string, unknown>): {
  config: WtiNpsConfig
  problems: FieldProblem[]
} {
  const f = new Fields(section)
  const config: WtiNpsConfig = {
    host: f.str('host'),
    port: f.int('port', { default: 23, min: 1, max: 65535 }),
    user: f.optStr('user'),
    password: f.secret('password', { required: true }) ?? {},
    connectTimeoutMs: f.duration('connectTimeout', 5000, { min: 1, max: 60_000 }),
    loginTimeoutMs: f.duration('loginTimeout', 10_000, { min: 100, max: 120_000 }),
    replyTimeoutMs: f.duration('replyTimeout', 5000, { min: 50, max: 60_000 }),
    commandTimeoutMs: f.duration('commandTimeout', 60_000, { min: 100, max: 300_000 }),
    deviceCycle: f.bool('deviceCycle', false),
  }
  f.noOthers()
  return { config, problems: f.problems }
}
