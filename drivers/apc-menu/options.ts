import { Opt, type OptionValues } from '../../core/options.js'
import { consoleOptions } from '../console/options.js'

/** The apc-menu driver's config section (besides `driver` and the common `deviceCycle`). */
export const APC_MENU_OPTIONS = {
  transport: Opt.oneOf(['telnet', 'ssh'], 'how the console is reached', { default: 'telnet' }),
  ...consoleOptions({
    user: Opt.string('the console user', { default: 'apc' }),
    reply: 'one menu screen or one CLI reply (a menu walk allows 3×, a command 2×)',
    portDefault: '`23` (`22` with `transport: ssh`)',
  }),
  hostKey: Opt.optionalString(
    "SSH only (required there): the unit's host key `SHA256:…` as `ssh-keygen -lf` prints it, or `any` written out",
    { hint: '`SHA256:…` or `any`' },
  ),
}

export type ApcMenuConfig = OptionValues<typeof APC_MENU_OPTIONS>

/** `SHA256:` and 43 base64 characters, as `ssh-keygen -lf` prints a key's fingerprint. */
export const HOST_KEY = /^SHA256:[A-Za-z0-9+/]{43}=?$/
