/**
 * The redfish driver's options: every field it reads, in one place (to be ported to a
 * declarative schema later). Docs: docs/drivers/redfish.md.
 */
import { Fields } from '../../src/config/fields.js'
import type { FieldProblem, SecretRef } from '../driver.js'

export interface RedfishConfig {
  host: string
  port: number
  user: string
  password: SecretRef
  /** The ComputerSystem to act on; absent = the only member of /redfish/v1/Systems. */
  systemPath?: string
  /** `fallback`: basic auth when the service has no session service; `never`: sessions only. */
  basicAuth: 'fallback' | 'never'
  /** Verify the certificate against this CA bundle (PEM). */
  caFile?: string
  /** Pin the certificate: its SHA-256 fingerprint, 64 hex digits (colons allowed). */
  fingerprint?: string
  /** Skip verification (written out, warned about). */
  insecure: boolean
  /** No TCP + TLS connection within this time: the BMC is unreachable. */
  unreachableTimeoutMs: number
  /** How long one request may take once connected. */
  requestTimeoutMs: number
  /** A body larger than this is refused (a BMC answer is a few kB). */
  maxBodyBytes: number
  /** May an operator's cycle use the system's PowerCycle/ForceRestart (never a fence)? */
  deviceCycle: boolean
}

export function readRedfishConfig(section: Record<string, unknown>): {
  config: RedfishConfig
  problems: FieldProblem[]
} {
  const f = new Fields(section)
  const problems: FieldProblem[] = []
  const host = f.str('host', { pattern: /^[A-Za-z0-9.:_[\]-]+$/, hint: 'a host name or address' })
  const port = f.int('port', { default: 443, min: 1, max: 65535 })
  const user = f.str('user', { hint: 'the BMC user name' })
  if (f.has('user') && !user) problems.push({ path: ['user'], message: 'an empty user name is refused' })
  const password = f.secret('password', { required: true }) ?? {}
  const systemPath = f.optStr('systemPath')
  if (systemPath !== undefined && !/^\/redfish\/v1\/[\x21-\x7e]+$/.test(systemPath))
    problems.push({
      path: ['systemPath'],
      message: `expected a path under /redfish/v1/ like /redfish/v1/Systems/System.Embedded.1, got '${systemPath}'`,
    })
  const caFile = f.optStr('caFile')
  let fingerprint = f.optStr('fingerprint')
  if (fingerprint !== undefined) {
    const hex = fingerprint
      .replace(/^sha256\W*/i, '')
      .replace(/:/g, '')
      .toLowerCase()
    if (!/^[0-9a-f]{64}$/.test(hex))
      problems.push({
        path: ['fingerprint'],
        message: 'expected the SHA-256 fingerprint of the certificate: 64 hex digits, colons allowed',
      })
    fingerprint = hex
  }
  const insecureRaw = section.insecure
  f.mark('insecure')
  if (insecureRaw !== undefined && insecureRaw !== true && insecureRaw !== false)
    problems.push({ path: ['insecure'], message: 'expected true or false (written out: insecure: true)' })
  const insecure = insecureRaw === true
  const ways = [caFile !== undefined, fingerprint !== undefined, insecure].filter(Boolean).length
  if (ways > 1)
    problems.push({
      path: ['insecure'],
      message: 'give one of caFile, fingerprint or insecure: true, not several',
    })
  const config: RedfishConfig = {
    host,
    port,
    user,
    password,
    basicAuth: f.oneOf('basicAuth', ['fallback', 'never'] as const, 'fallback'),
    insecure,
    unreachableTimeoutMs: f.duration('unreachableTimeout', 2000, { min: 50, max: 600_000 }),
    requestTimeoutMs: f.duration('requestTimeout', 10_000, { min: 50, max: 600_000 }),
    maxBodyBytes: f.int('maxBodyBytes', { default: 1 << 20, min: 4096, max: 64 << 20 }),
    deviceCycle: f.bool('deviceCycle', false),
  }
  if (systemPath !== undefined) config.systemPath = systemPath.replace(/\/$/, '')
  if (caFile !== undefined) config.caFile = caFile
  if (fingerprint !== undefined) config.fingerprint = fingerprint
  f.noOthers()
  return { config, problems: [...f.problems, ...problems] }
}
