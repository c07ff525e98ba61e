import { COMMAND, OUTLET } from '../../protocols/nw-rpc100s.js'
import { FenceError } from '../../core/errors.js'
import type { DeviceAction, PowerState } from '../../core/types.js'
import type { Call, DriverContext, PlugInfo, PowerDriver } from '../driver.js'
import type { ByteStream } from '../transport/byte-stream.js'
import { ExpectLine } from '../expect/expect-line.js'
import type { Script } from '../expect/expect.js'
import { openSerialTarget } from '../transport/serial-target.js'
import type { NwRpc100sConfig } from './options.js'
import { commandScript, probeScript } from './scripts.js'

export type { NwRpc100sConfig }

/**
 * The Night/Ware RPC-100S driver: one outlet (plug `outlet`) on a serial line, on a local tty or a
 * raw TCP terminal server. The unit cannot report its outlet, so this is an *unverified* device
 * (factory `verifies: false`): `status` reads `unknown` — after a probe round trip that proves the
 * unit answers — and `set` only knows that the unit said `OK`. The engine therefore never lets it
 * fence (docs/drivers/nw-rpc100s.md).
 */
export class NwRpc100sDriver implements PowerDriver {
  readonly kind = 'nw-rpc100s'
  private readonly line: ExpectLine
  private readonly scripts: Record<'probe' | 'on' | 'off' | 'cycle', Script>

  constructor(
    cfg: NwRpc100sConfig,
    private readonly deviceId: string,
    opts: { stream?: ByteStream; log?: DriverContext['log'] } = {},
  ) {
    const stream = opts.stream ?? openSerialTarget(cfg)
    this.scripts = {
      probe: probeScript('expect', cfg.probeTimeoutMs),
      on: commandScript('on', COMMAND.on, cfg.replyTimeoutMs),
      off: commandScript('off', COMMAND.off, cfg.replyTimeoutMs),
      cycle: commandScript('cycle', COMMAND.cycle(Math.round(cfg.cycleOffMs / 1000)), cfg.replyTimeoutMs),
    }
    this.line = new ExpectLine({
      stream,
      device: deviceId,
      // after every (re)open: the unit answers, and no half command of an abandoned call is left in it
      handshake: probeScript('handshake', cfg.probeTimeoutMs),
      scripts: Object.values(this.scripts),
      commandGapMs: 0,
      log: opts.log,
    })
  }

  private plug(plug: string): void {
    if (plug !== OUTLET)
      throw new FenceError(
        'NO_SUCH_PLUG',
        `${this.deviceId}: an RPC-100S has one plug, '${OUTLET}'; got '${plug}'`,
      )
  }

  async plugs(_call: Call): Promise<PlugInfo[]> {
    return [{ id: OUTLET, name: 'RPC-100S outlet' }]
  }

  /**
   * Every plug reads `unknown`: the unit has no status command. The call still makes one round
   * trip (the probe, answered `Invalid Entry`), so a dead unit or line fails the read and its
   * health probe, long before the day it is needed.
   */
  async status(plugs: readonly string[], call: Call): Promise<Map<string, PowerState>> {
    for (const p of plugs) this.plug(p)
    const out = new Map<string, PowerState>()
    if (plugs.length === 0) return out
    await this.line.run(this.scripts.probe, {}, call.signal)
    out.set(OUTLET, 'unknown')
    return out
  }

  async set(plug: string, action: DeviceAction, call: Call): Promise<void> {
    this.plug(plug)
    await this.line.run(this.scripts[action], {}, call.signal)
  }

  async close(): Promise<void> {
    await this.line.close()
  }
}
