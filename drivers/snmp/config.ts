/**
 * The SNMP part of a driver's config section (apc-snmp, wti-snmp): where the agent is, which
 * SNMP version, the community or the v3 user, timeouts. Secrets (community, authKey,
 * privKey) come only through Fields.secret (`communityFile:` / `communityEnv:` …) and are
 * read when a session is opened, so a rotated key file is picked up by the next session.
 */
import { Type } from 'typebox'
import type { Fields } from '../../core/fields.js'
import { Opt, type OptionValues, readOptions } from '../../core/options.js'
import { FenceError } from '../../core/errors.js'
import type { DriverContext } from '../driver.js'

export type SnmpVersion = '1' | '2c' | '3'
export const SNMP_VERSIONS: readonly SnmpVersion[] = ['1', '2c', '3']

export type AuthProtocol = 'md5' | 'sha' | 'sha224' | 'sha256' | 'sha384' | 'sha512'
export const AUTH_PROTOCOLS: readonly AuthProtocol[] = ['sha', 'sha224', 'sha256', 'sha384', 'sha512', 'md5']

/** AES-128 (RFC 3826) and the two AES-256 key localisations vendors use. DES is refused. */
export type PrivProtocol = 'aes' | 'aes256b' | 'aes256r'
export const PRIV_PROTOCOLS: readonly PrivProtocol[] = ['aes', 'aes256b', 'aes256r']

export type SecurityLevel = 'noAuthNoPriv' | 'authNoPriv' | 'authPriv'
export const SECURITY_LEVELS: readonly SecurityLevel[] = ['noAuthNoPriv', 'authNoPriv', 'authPriv']

/** The resolved credentials a session is opened with. Never logged. */
export interface SnmpCredentials {
  community?: string
  user?: {
    name: string
    level: SecurityLevel
    authProtocol?: AuthProtocol
    authKey?: string
    privProtocol?: PrivProtocol
    privKey?: string
  }
}

/** Defaults: 3 tries of 600 ms, so a silent PDU is reported unreachable within 2 s. */
export const SNMP_DEFAULT_TIMEOUT_MS = 600
export const SNMP_DEFAULT_RETRIES = 2

/**
 * The SNMP options of a driver section (apc-snmp, wti-snmp), declared once and spread into
 * each SNMP driver's options. `version` defaults to 1 (fence_apc_snmp's default).
 */
export const SNMP_OPTIONS = {
  host: Opt.string('the agent: a host name or address', { hint: 'a host name or address' }),
  port: Opt.int('its UDP port', { default: 161, min: 1, max: 65535 }),
  version: Opt.oneOf(SNMP_VERSIONS, 'the SNMP version', { default: '1' }),
  community: Opt.secret('versions 1 and 2c: the read-write community', {
    required: false,
    defaultText: 'required for 1 and 2c',
  }),
  user: Opt.optionalString('version 3: the USM user (required)'),
  securityLevel: Opt.oneOf(
    SECURITY_LEVELS,
    'version 3: USM security level. With no keys it is an error unless `noAuthNoPriv` is written out (no authentication, no privacy: anyone on the network can switch the outlets), and a device using it logs a warning at every start',
    { defaultText: '`authPriv` with both keys, `authNoPriv` with `authKey` only' },
  ),
  authProtocol: Opt.oneOf(AUTH_PROTOCOLS, 'version 3: authentication protocol', { default: 'sha' }),
  authKey: Opt.secret('version 3: the authentication key, at least 8 characters', {
    required: false,
    defaultText: 'with authNoPriv, authPriv',
  }),
  privProtocol: Opt.custom<PrivProtocol>(
    Type.Union(PRIV_PROTOCOLS.map((p) => Type.Literal(p))),
    'version 3: privacy protocol (DES is refused)',
    {
      type: PRIV_PROTOCOLS.map((p) => `\`${p}\``).join(', '),
      defaultText: '`aes`',
      read: (f, name) => {
        if (f.section[name] !== 'des') return f.oneOf(name, PRIV_PROTOCOLS, 'aes')
        f.problems.push({
          path: [...f.base, name],
          message: 'DES is refused (broken, and absent from Node 17+ OpenSSL): use aes',
        })
        return 'aes'
      },
    },
  ),
  privKey: Opt.secret('version 3: the privacy key, at least 8 characters', {
    required: false,
    defaultText: 'with authPriv',
  }),
  timeout: Opt.duration('one try', { default: SNMP_DEFAULT_TIMEOUT_MS, min: 10, max: 60_000 }),
  retries: Opt.int('further tries: a silent PDU is unreachable after timeout × (retries + 1)', {
    default: SNMP_DEFAULT_RETRIES,
    min: 0,
    max: 10,
  }),
}

/** Where the agent is and how to talk to it: the values of SNMP_OPTIONS. */
export type SnmpTargetConfig = OptionValues<typeof SNMP_OPTIONS>

/** Read the SNMP fields of a section (SNMP_OPTIONS, then the checks between them); problems go to `f.problems`. */
export function readSnmpTarget(f: Fields, opts: { defaultVersion: SnmpVersion }): SnmpTargetConfig {
  const problem = (field: string, message: string) => f.problems.push({ path: [...f.base, field], message })
  const levelGiven = f.has('securityLevel')
  const o = readOptions(f, SNMP_OPTIONS, { version: opts.defaultVersion, securityLevel: 'noAuthNoPriv' })
  const {
    host,
    port,
    version,
    community,
    user,
    authProtocol,
    authKey,
    privProtocol,
    privKey,
    timeoutMs,
    retries,
  } = o
  let securityLevel = o.securityLevel

  if (version === '3') {
    if (!user) problem('user', 'required with version 3: the USM user name')
    if (community)
      problem('communityFile', 'a community is for versions 1 and 2c; version 3 uses user and keys')
    if (!levelGiven) securityLevel = privKey ? 'authPriv' : authKey ? 'authNoPriv' : 'noAuthNoPriv'
    // no keys means no security at all: only when written out (then warned at every start)
    if (!levelGiven && !authKey && !privKey)
      problem(
        'securityLevel',
        'version 3 without keys has no authentication and no privacy: add authKeyFile: PATH and privKeyFile: PATH (authPriv), or write securityLevel: noAuthNoPriv to accept that anyone on the network can switch the outlets',
      )
    if (securityLevel !== 'noAuthNoPriv' && !authKey)
      problem(
        'authKeyFile',
        `required with securityLevel ${securityLevel}: authKeyFile: PATH or authKeyEnv: VAR`,
      )
    if (securityLevel === 'authPriv' && !privKey)
      problem('privKeyFile', 'required with securityLevel authPriv: privKeyFile: PATH or privKeyEnv: VAR')
    if (securityLevel !== 'authPriv' && privKey)
      problem('privKeyFile', `a privacy key needs securityLevel authPriv (got ${securityLevel})`)
    if (securityLevel === 'noAuthNoPriv' && authKey)
      problem('authKeyFile', 'an authentication key needs securityLevel authNoPriv or authPriv')
  } else {
    if (!community)
      problem('communityFile', `required with version ${version}: communityFile: PATH or communityEnv: VAR`)
    for (const k of ['user', 'securityLevel', 'authKeyFile', 'authKeyEnv', 'privKeyFile', 'privKeyEnv'])
      if (f.has(k)) problem(k, `only with version 3 (this device uses version ${version})`)
  }
  return {
    host,
    port,
    version,
    community,
    user,
    securityLevel,
    authProtocol,
    authKey,
    privProtocol,
    privKey,
    timeoutMs,
    retries,
  }
}

/** Log what is weak in a target's security, once, when its driver is created. */
export function warnWeakTarget(cfg: SnmpTargetConfig, ctx: DriverContext): void {
  if (cfg.version !== '3') return
  if (cfg.securityLevel === 'noAuthNoPriv')
    ctx.log(
      'warn',
      'SNMPv3 securityLevel noAuthNoPriv: no authentication and no privacy, anyone on the network can switch the outlets',
      { device: ctx.deviceId },
    )
  else if (cfg.authProtocol === 'md5')
    ctx.log('warn', 'SNMPv3 with MD5 authentication: prefer sha or sha256', { device: ctx.deviceId })
}

/** Read the secrets of a target now (at session opening). Throws CONFIG_INVALID / SECRET_UNSAFE. */
export function resolveCredentials(cfg: SnmpTargetConfig, ctx: DriverContext): SnmpCredentials {
  if (cfg.version !== '3')
    return { community: ctx.readSecret(cfg.community ?? {}, `${ctx.deviceId}.community`) }
  const user: NonNullable<SnmpCredentials['user']> = { name: cfg.user ?? '', level: cfg.securityLevel }
  if (cfg.securityLevel !== 'noAuthNoPriv') {
    user.authProtocol = cfg.authProtocol
    user.authKey = ctx.readSecret(cfg.authKey ?? {}, `${ctx.deviceId}.authKey`)
    // RFC 3414 §11.2: USM passwords are at least 8 characters; agents refuse shorter ones
    if (user.authKey.length < 8)
      throw new FenceError('CONFIG_INVALID', `${ctx.deviceId}.authKey: a USM key has at least 8 characters`)
  }
  if (cfg.securityLevel === 'authPriv') {
    user.privProtocol = cfg.privProtocol
    user.privKey = ctx.readSecret(cfg.privKey ?? {}, `${ctx.deviceId}.privKey`)
    if (user.privKey.length < 8)
      throw new FenceError('CONFIG_INVALID', `${ctx.deviceId}.privKey: a USM key has at least 8 characters`)
  }
  return { user }
}

/** The values to scrub from any message that could echo them (net-snmp puts communities in errors). */
export function secretValues(c: SnmpCredentials): string[] {
  return [c.community, c.user?.authKey, c.user?.privKey].filter((s): s is string => !!s)
}
