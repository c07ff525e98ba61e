import { REG1_LOAD_OFF, parseRegister } from '../../protocols/apc-smart.js'
import { FenceError } from '../../core/errors.js'
import type { DeviceAction, PowerState } from '../../core/types.js'
import type { Call, DriverContext, PlugInfo, PowerDriver } from '../driver.js'
import type { ByteStream } from '../transport/byte-stream.js'
import { ExpectLine } from '../expect/expect-line.js'
import type { Script, ScriptResult } from '../expect/expect.js'
import { openSerialTarget } from '../transport/serial-target.js'
import type { SmartUpsConfig } from './options.js'
import { cycleScript, handshakeScript, loadScript, statusScript } from './scripts.js'

export const LOAD = 'load'

export type { SmartUpsConfig }

/**
 * An APC Smart-UPS as a single-plug power switch (plug `load`): load off (`Z` twice), load on
 * (^N twice), state from register 1. Same expect engine and transports as the RPS-10.
 */
export class SmartUpsDriver implements PowerDriver {
  readonly kind = 'apc-smartups'
  private readonly line: ExpectLine
  private readonly scripts: Record<'status' | 'on' | 'off' | 'cycle', Script>

  constructor(
    cfg: SmartUpsConfig,
    private readonly deviceId: string,
    opts: { stream?: ByteStream; log?: DriverContext['log'] } = {},
  ) {
    const stream = opts.stream ?? openSerialTarget(cfg)
    this.scripts = {
      status: statusScript(cfg),
      on: loadScript('on', cfg),
      off: loadScript('off', cfg),
      cycle: cycleScript(cfg),
    }
    this.line = new ExpectLine({
      stream,
      device: deviceId,
      handshake: handshakeScript(cfg),
      scripts: Object.values(this.scripts),
      commandGapMs: 0,
      log: opts.log,
    })
  }

  private plug(plug: string): void {
    if (plug !== LOAD)
      throw new FenceError('NO_SUCH_PLUG', `${this.deviceId}: a UPS has one plug, '${LOAD}'; got '${plug}'`)
  }

  private run(name: keyof SmartUpsDriver['scripts'], call: Call): Promise<ScriptResult> {
    return this.line.run(this.scripts[name], {}, call.signal)
  }

  async plugs(_call: Call): Promise<PlugInfo[]> {
    return [{ id: LOAD, name: 'UPS load' }]
  }

  async status(plugs: readonly string[], call: Call): Promise<Map<string, PowerState>> {
    for (const p of plugs) this.plug(p)
    const out = new Map<string, PowerState>()
    if (plugs.length === 0) return out
    const r = await this.run('status', call)
    const reg = parseRegister(r.vars.reg ?? '')
    out.set(LOAD, reg === null ? 'unknown' : reg & REG1_LOAD_OFF ? 'off' : 'on')
    return out
  }

  async set(plug: string, action: DeviceAction, call: Call): Promise<void> {
    this.plug(plug)
    await this.run(action, call)
  }

  async close(): Promise<void> {
    await this.line.close()
  }
}
