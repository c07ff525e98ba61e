import ssh2 from 'ssh2'
import { FenceError } from '../../src/core/errors.js'
import type { DriverFactory } from '../driver.js'
import { DracCredentials, DracSshDriver, SYSTEM } from './driver.js'
import { type DracSshConfig, readDracSshConfig } from './options.js'

export const dracSshDriver: DriverFactory<DracSshConfig> = {
  kind: 'drac-ssh',
  description:
    'a Dell DRAC 5 / iDRAC racadm shell or a CMC over SSH (racadm serveraction); plug system, or server-N on a CMC',
  singlePlug: SYSTEM,
  deviceCycleAllowed: (c) => c.deviceCycle,
  validate: (section) => readDracSshConfig(section),
  create(config, ctx) {
    const password = config.password ? ctx.readSecret(config.password, 'password') : undefined
    // the key goes through the secret reader: a key file readable by group or others is refused
    const key = config.key ? ctx.readSecret(config.key, 'key') : undefined
    const passphrase = config.keyPassphrase
      ? ctx.readSecret(config.keyPassphrase, 'keyPassphrase')
      : undefined
    return new DracSshDriver(config, new DracCredentials(password, key, passphrase), ctx)
  },
}
