import { type Option, Opt } from '../../core/options.js'
import { FenceError } from '../../core/errors.js'
import type { DriverContext, SecretRef } from '../driver.js'

/**
 * What the network-console drivers (apc-menu, wti-nps, baytech) declare alike: their common
 * options and the password read at start.
 */

/**
 * The options every console driver has, declared once and spread into each family's options:
 * the family gives its `user` option and what one reply is (`reply`, the replyTimeout's
 * description); `portDefault` for docs where the port's default depends on another field.
 */
export function consoleOptions<U extends Option<string> | Option<string | undefined>>(o: {
  user: U
  reply: string
  portDefault?: string
}) {
  return {
    host: Opt.string("the unit's address"),
    port: Opt.int("the console's TCP port", {
      default: 23,
      min: 1,
      max: 65535,
      ...(o.portDefault ? { defaultText: o.portDefault } : {}),
    }),
    user: o.user,
    password: Opt.secret('the password, from a file (0600) or an environment variable; never in the config', {
      required: true,
    }),
    connectTimeout: Opt.duration('TCP connect', { default: 5000, min: 1, max: 60_000 }),
    loginTimeout: Opt.duration('from connect to the first prompt after login', {
      default: 10_000,
      min: 100,
      max: 120_000,
    }),
    replyTimeout: Opt.duration(o.reply, { default: 5000, min: 50, max: 60_000 }),
  }
}

/** `commandTimeout` of a console that gives its prompt back only when the unit is done. */
export function commandTimeoutOption(description: string, defaultMs: number) {
  return Opt.duration(description, { default: defaultMs, min: 100, max: 300_000 })
}

/** The console password, read when the driver is created: a trailing newline dropped, empty refused. */
export function consolePassword(ref: SecretRef, ctx: DriverContext): string {
  const password = ctx.readSecret(ref, 'password').replace(/\r?\n$/, '')
  if (!password) throw new FenceError('CONFIG_INVALID', `${ctx.deviceId}: password: the secret is empty`)
  return password
}
