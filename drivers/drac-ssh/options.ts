/**
 * The drac-ssh driver's config section, declared once (core/options.ts): the docs'
 * tables and `fencegate list --drivers` come from it. Docs: docs/drivers/drac-ssh.md.
 */
import { Type } from 'typebox'
import { Opt, type OptionValues } from '../../core/options.js'

/** The drac-ssh driver's config section (besides `driver` and the common `deviceCycle`). */
export const DRAC_SSH_OPTIONS = {
  host: Opt.string('the DRAC: a host name or address', {
    pattern: /^[A-Za-z0-9.:_[\]-]+$/,
    hint: 'a host name or address',
  }),
  port: Opt.int('its SSH port', { default: 22, min: 1, max: 65535 }),
  user: Opt.string('the DRAC account', { hint: 'the DRAC user name' }),
  password: Opt.secret('password authentication… (`password` or `key` is required)', {
    required: false,
  }),
  key: Opt.secret('…or a private key (OpenSSH or PEM; a file of mode 600)', { required: false }),
  keyPassphrase: Opt.secret("the key's passphrase", { required: false }),
  hostKey: Opt.custom<string>(
    Type.String({ pattern: '^(SHA256:[A-Za-z0-9+/]{43}=?|any)$' }),
    "the host key's SHA-256 fingerprint as `ssh-keygen -l -E sha256` prints it; a mismatch is `INSECURE_DEVICE` (permanent, nothing sent). `any`, written out, skips the check and logs a warning",
    {
      type: '`SHA256:…` or `any`',
      defaultText: 'required',
      read: (f, name) => {
        const hostKey = f.str(name, {
          hint: "the host key's SHA-256 fingerprint (SHA256:… from ssh-keygen -lf), or any",
        })
        if (f.has(name) && hostKey !== 'any' && !/^SHA256:[A-Za-z0-9+/]{43}=?$/.test(hostKey))
          f.problems.push({
            path: [...f.base, name],
            message: `expected SHA256: and 43 base64 characters (ssh-keygen -lf /etc/ssh/ssh_host_ecdsa_key.pub), or any; got '${hostKey}'`,
          })
        return hostKey.replace(/=$/, '')
      },
    },
  ),
  model: Opt.oneOf(
    ['auto', 'drac5', 'cmc'],
    '`drac5` (one plug, `system`), `cmc` (`server-N`), or `auto`: from the banner, as fence_drac5 (`CMC` in it: cmc)',
    { default: 'auto' },
  ),
  prompt: Opt.custom<string>(
    Type.String({ default: '\\$ ?$' }),
    'the shell prompt, a regular expression matched at the end of the output',
    {
      type: 'a regular expression',
      defaultText: '`\\$ ?$`',
      read: (f, name) => {
        const prompt = f.str(name, { default: '\\$ ?$' })
        try {
          new RegExp(prompt)
        } catch {
          f.problems.push({ path: [...f.base, name], message: 'not a valid regular expression' })
        }
        return prompt
      },
    },
  ),
  loginTimeout: Opt.duration(
    'TCP connect, SSH handshake, login and first prompt within this time, or the DRAC is unreachable',
    {
      default: 5000,
      min: 50,
      max: 600_000,
    },
  ),
  commandTimeout: Opt.duration(
    "how long one racadm command may take (fence_drac5's `power_timeout` is 20 s)",
    {
      default: 20_000,
      min: 50,
      max: 600_000,
    },
  ),
}

export type DracSshConfig = OptionValues<typeof DRAC_SSH_OPTIONS>
