/**
 * The redfish driver's config section, declared once (core/options.ts): the docs'
 * tables and `fencegate list --drivers` come from it. Docs: docs/drivers/redfish.md.
 */
import { Type } from 'typebox'
import { Opt, type OptionValues } from '../../core/options.js'

/** The redfish driver's config section (besides `driver` and the common `deviceCycle`). */
export const REDFISH_OPTIONS = {
  host: Opt.string('the BMC: a host name or address', {
    pattern: /^[A-Za-z0-9.:_[\]-]+$/,
    hint: 'a host name or address',
  }),
  port: Opt.int('its HTTPS port', { default: 443, min: 1, max: 65535 }),
  user: Opt.custom<string>(Type.String({ minLength: 1 }), 'the Redfish account', {
    type: 'text',
    defaultText: 'required',
    read: (f, name) => {
      const user = f.str(name, { hint: 'the BMC user name' })
      if (f.has(name) && !user)
        f.problems.push({ path: [...f.base, name], message: 'an empty user name is refused' })
      return user
    },
  }),
  password: Opt.secret('its password: never in the config itself, never logged, never in an error', {
    required: true,
  }),
  systemPath: Opt.custom<string | undefined>(
    Type.String(),
    'the ComputerSystem (`/redfish/v1/Systems/System.Embedded.1`); required where the service has several',
    {
      type: 'a path under `/redfish/v1/`',
      defaultText: 'the only member of `/redfish/v1/Systems`',
      read: (f, name) => {
        const systemPath = f.optStr(name)
        if (systemPath === undefined) return undefined
        if (!/^\/redfish\/v1\/[\x21-\x7e]+$/.test(systemPath))
          f.problems.push({
            path: [...f.base, name],
            message: `expected a path under /redfish/v1/ like /redfish/v1/Systems/System.Embedded.1, got '${systemPath}'`,
          })
        return systemPath.replace(/\/$/, '')
      },
    },
  ),
  basicAuth: Opt.oneOf(
    ['fallback', 'never'],
    '`fallback`: HTTP basic auth where the service has no session service (404/405/501 on the login); `never`: sessions only',
    { default: 'fallback' },
  ),
  caFile: Opt.optionalString('verify the certificate (and the host name) against this CA bundle (PEM)', {
    hint: 'a file path',
  }),
  fingerprint: Opt.custom<string | undefined>(
    Type.String({ pattern: '^[0-9a-fA-F:]+$' }),
    'pin the certificate: its SHA-256, 64 hex digits, colons allowed (`openssl x509 -fingerprint -sha256`)',
    {
      type: '64 hex digits',
      defaultText: 'none',
      read: (f, name) => {
        const fingerprint = f.optStr(name)
        if (fingerprint === undefined) return undefined
        const hex = fingerprint
          .replace(/^sha256\W*/i, '')
          .replace(/:/g, '')
          .toLowerCase()
        if (!/^[0-9a-f]{64}$/.test(hex))
          f.problems.push({
            path: [...f.base, name],
            message: 'expected the SHA-256 fingerprint of the certificate: 64 hex digits, colons allowed',
          })
        return hex
      },
    },
  ),
  insecure: Opt.custom<boolean>(
    Type.Boolean({ default: false }),
    '`true`, written out, skips every certificate check and logs a warning at start: for a lab, never for fencing a cluster',
    {
      type: '`true` or `false`',
      defaultText: '`false`',
      read: (f, name) => {
        const raw = f.section[name]
        if (raw !== undefined && raw !== true && raw !== false)
          f.problems.push({
            path: [...f.base, name],
            message: 'expected true or false (written out: insecure: true)',
          })
        return raw === true
      },
    },
  ),
  unreachableTimeout: Opt.duration(
    'no TCP connection and TLS handshake within this time: the BMC is unreachable',
    { default: 2000, min: 50, max: 600_000 },
  ),
  requestTimeout: Opt.duration('how long one request may take once connected (iDRAC can take seconds)', {
    default: 10_000,
    min: 50,
    max: 600_000,
  }),
  maxBodyBytes: Opt.int('a larger answer is refused (a BMC answer is a few kB)', {
    default: 1 << 20,
    min: 4096,
    max: 64 << 20,
  }),
}

export type RedfishConfig = OptionValues<typeof REDFISH_OPTIONS>
