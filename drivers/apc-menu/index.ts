import { Fields } from '../../core/fields.js'
import { readOptions } from '../../core/options.js'
import type { DriverFactory } from '../driver.js'
import { consolePassword } from '../console/options.js'
import { ApcMenuDriver } from './driver.js'
import { APC_MENU_OPTIONS, type ApcMenuConfig, HOST_KEY } from './options.js'

export const apcMenuDriver: DriverFactory<ApcMenuConfig> = {
  kind: 'apc-menu',
  description:
    'APC MasterSwitch / Switched Rack PDU console over telnet or SSH: AP9211, AP79xx v2/v3 menus, AOS v5-7 apc> CLI',
  options: APC_MENU_OPTIONS,
  validate(section) {
    const f = new Fields(section)
    const config = readOptions(f, APC_MENU_OPTIONS, { port: section.transport === 'ssh' ? 22 : 23 })
    const { transport, hostKey } = config
    if (transport === 'ssh' && !hostKey)
      f.problems.push({
        path: ['hostKey'],
        message:
          "required with transport ssh: the unit's host key fingerprint (SHA256:…), or any written out",
      })
    if (hostKey && transport !== 'ssh')
      f.problems.push({ path: ['hostKey'], message: 'hostKey is for transport ssh' })
    if (hostKey && hostKey !== 'any' && !HOST_KEY.test(hostKey))
      f.problems.push({
        path: ['hostKey'],
        message: `expected SHA256:<43 base64 characters> or any, got '${hostKey}'`,
      })
    f.noOthers()
    return { config, problems: f.problems }
  },
  create(config, ctx) {
    const password = consolePassword(config.password, ctx)
    if (config.transport === 'ssh' && config.hostKey === 'any')
      ctx.log('warn', 'ssh host key not checked (hostKey: any): the password goes to whoever answers', {
        device: ctx.deviceId,
      })
    return new ApcMenuDriver(config, ctx.deviceId, password, { log: ctx.log })
  },
}
