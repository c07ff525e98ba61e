import ssh2 from 'ssh2'
import { Fields } from '../../core/fields.js'
import { readOptions } from '../../core/options.js'
import { FenceError } from '../../core/errors.js'
import type { DriverFactory } from '../driver.js'
import { DracCredentials, DracSshDriver, SYSTEM } from './driver.js'
import { DRAC_SSH_OPTIONS, type DracSshConfig } from './options.js'

export const dracSshDriver: DriverFactory<DracSshConfig> = {
  kind: 'drac-ssh',
  description:
    'a Dell DRAC 5 / iDRAC racadm shell or a CMC over SSH (racadm serveraction); plug system, or server-N on a CMC',
  singlePlug: SYSTEM,
  options: DRAC_SSH_OPTIONS,
  validate(section) {
    const f = new Fields(section)
    const config = readOptions(f, DRAC_SSH_OPTIONS)
    if (!config.password && !config.key)
      f.problems.push({
        path: ['passwordFile'],
        message: 'required: passwordFile/passwordEnv or keyFile/keyEnv',
      })
    f.noOthers()
    return { config, problems: f.problems }
  },
  create(config, ctx) {
    const password = config.password ? ctx.readSecret(config.password, 'password') : undefined
    // the key goes through the secret reader: a key file readable by group or others is refused
    // (the secret reader strips the last newline; PEM and OpenSSH key parsers want it back)
    const key = config.key ? `${ctx.readSecret(config.key, 'key')}\n` : undefined
    const passphrase = config.keyPassphrase
      ? ctx.readSecret(config.keyPassphrase, 'keyPassphrase')
      : undefined
    if (key !== undefined) {
      const parsed = ssh2.utils.parseKey(key, passphrase)
      if (parsed instanceof Error || (Array.isArray(parsed) && parsed.length === 0))
        throw new FenceError(
          'CONFIG_INVALID',
          `${ctx.deviceId}: keyFile: not a private key ssh2 can read (OpenSSH, PEM RSA/ECDSA/ed25519)${passphrase ? ' with this passphrase' : ''}`,
        )
    }
    return new DracSshDriver(config, new DracCredentials(password, key, passphrase), ctx)
  },
}
