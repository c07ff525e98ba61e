import { FenceError } from '../../core/errors.js'
import type { DeviceAction, PowerState } from '../../core/types.js'
import { type Address, type Unit, isUnit } from '../../protocols/rps10.js'
import type { Call, DriverContext, PlugInfo, PowerDriver } from '../driver.js'
import type { ByteStream } from '../transport/byte-stream.js'
import { ExpectLine } from '../expect/expect-line.js'
import type { Script } from '../expect/expect.js'
import { openSerialTarget } from '../transport/serial-target.js'
import type { Rps10Config, Rps10Handshake } from './options.js'
import {
  type Rps10Cmd,
  bannerHandshake,
  commandScript,
  dtrHandshake,
  judgeReply,
  settleHandshake,
} from './scripts.js'

export type { Rps10Config, Rps10Handshake }

/**
 * The WTI RPS-10(M) driver: one serial line, a daisy chain of up to ten single-outlet units,
 * plug ids = unit addresses `0`…`9`. Speaks through the expect engine over a local tty or a raw
 * TCP terminal server; the dialogue itself is data (scripts.ts).
 */
export class Rps10Driver implements PowerDriver {
  readonly kind = 'rps10'
  private readonly line: ExpectLine
  private readonly scripts: Record<'on' | 'off' | 'toggle' | 'status', Script>

  constructor(
    private readonly cfg: Rps10Config,
    private readonly deviceId: string,
    opts: { stream?: ByteStream; log?: DriverContext['log'] } = {},
  ) {
    const stream = opts.stream ?? openSerialTarget(cfg)
    const reply = cfg.replyTimeoutMs
    this.scripts = {
      on: commandScript('on', '1', reply),
      off: commandScript('off', '0', reply),
      // Off comes at once, On after the toggle delay, Complete after that (cluster-glue allows 14 s)
      toggle: commandScript('toggle', 'T', reply + cfg.toggleDelayMs + 2000),
      status: commandScript('status', '?', reply),
    }
    const handshake =
      cfg.handshake === 'dtr'
        ? dtrHandshake(cfg.dtrLowMs, cfg.readyTimeoutMs)
        : cfg.handshake === 'banner'
          ? bannerHandshake(cfg.readyTimeoutMs)
          : settleHandshake(cfg.settleMs)
    this.line = new ExpectLine({
      stream,
      device: deviceId,
      handshake,
      scripts: Object.values(this.scripts),
      commandGapMs: cfg.commandGapMs,
      log: opts.log,
    })
  }

  private get label(): string {
    return `${this.deviceId} (${this.line.label})`
  }

  private unit(plug: string): Unit {
    if (!isUnit(plug) || (this.cfg.units && !this.cfg.units.includes(plug)))
      throw new FenceError(
        'NO_SUCH_PLUG',
        `${this.label}: no unit '${plug}' (plugs are unit addresses ${this.cfg.units?.join(', ') ?? '0-9'})`,
      )
    return plug
  }

  private async command(
    script: 'on' | 'off' | 'toggle' | 'status',
    address: Address,
    call: Call,
  ): Promise<Map<Unit, 'on' | 'off'>> {
    const r = await this.line.run(this.scripts[script], { address }, call.signal)
    const cmd: Rps10Cmd = script === 'on' ? '1' : script === 'off' ? '0' : script === 'toggle' ? 'T' : '?'
    const check = judgeReply(address, cmd, r)
    if (!check.ok) {
      // the line may be out of step with the unit: start the next call from a fresh handshake
      await this.line.drop()
      throw new FenceError('PROTOCOL_ERROR', `${this.label}: ${script} ${address}: ${check.message}`, {
        phase: 'expect',
        received: r.transcript.slice(-200),
      })
    }
    return check.plugs
  }

  async plugs(call: Call): Promise<PlugInfo[]> {
    const states = await this.command('status', '*', call)
    return [...states.keys()]
      .filter((u) => !this.cfg.units || this.cfg.units.includes(u))
      .sort()
      .map((id) => ({ id, name: `unit ${id}` }))
  }

  async status(plugs: readonly string[], call: Call): Promise<Map<string, PowerState>> {
    const units = plugs.map((p) => this.unit(p))
    const out = new Map<string, PowerState>()
    if (units.length === 0) return out
    // one unit: ask it; several: one round to every unit of the chain (`*?`)
    const states = await this.command('status', units.length === 1 ? units[0]! : '*', call)
    for (const u of units) out.set(u, states.get(u) ?? 'unknown')
    return out
  }

  async set(plug: string, action: DeviceAction, call: Call): Promise<void> {
    if (plug === '*' || plug === 'A')
      throw new FenceError(
        'UNSUPPORTED_ACTION',
        `${this.label}: switching every unit at once ('*') is refused; name one unit`,
      )
    const unit = this.unit(plug)
    if (action === 'cycle') {
      await this.command('toggle', unit, call)
      return
    }
    await this.command(action, unit, call)
  }

  async close(): Promise<void> {
    await this.line.close()
  }
}
