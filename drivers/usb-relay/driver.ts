import { FenceError, abortError } from '../../core/errors.js'
import type { DeviceAction, PowerState } from '../../core/types.js'
import {
  DCTTECH_PID,
  DCTTECH_VID,
  DCT_REPORT_LENGTH,
  ch340Frame,
  dctCommand,
  parseDctStatus,
} from '../../protocols/usb.js'
import type { Call, DriverContext, PlugInfo, PowerDriver } from '../driver.js'
import type { ByteStream } from '../transport/byte-stream.js'
import { openSerialTarget } from '../transport/serial-target.js'
import type { UsbRelayConfig } from './options.js'
import { type HidDeviceLike, type HidHost, realHidHost, simulatedHidHost } from './hid.js'

function channel(plug: string, channels: number, label: string): number {
  const n = /^\d$/.test(plug) ? Number(plug) : 0
  if (n < 1 || n > channels)
    throw new FenceError('NO_SUCH_PLUG', `${label}: no relay '${plug}' (relays 1-${channels})`)
  return n
}

function noCycle(label: string): FenceError {
  return new FenceError(
    'UNSUPPORTED_ACTION',
    `${label}: a relay board has no cycle of its own; the engine cycles in software`,
  )
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(abortError(signal))
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(t)
      reject(abortError(signal))
    }
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * A CH340 serial relay board (LCUS-1/2/4/8): `A0 ch op sum` at 9600 baud, one frame per relay.
 * The board acknowledges nothing and reports nothing: an *unverified* device (status `unknown`,
 * operator power only, never a fencing level). A status call proves only that the tty opens.
 */
export class Ch340RelayDriver implements PowerDriver {
  readonly kind = 'usb-relay'
  private readonly stream: ByteStream
  private readonly label: string

  constructor(
    private readonly cfg: UsbRelayConfig,
    deviceId: string,
    opts: { stream?: ByteStream; log?: DriverContext['log'] } = {},
  ) {
    this.stream = opts.stream ?? openSerialTarget(cfg.serialTarget!)
    this.label = `${deviceId} (CH340 relay board ${this.stream.label})`
  }

  private get channels(): number {
    return this.cfg.channels ?? 1
  }

  private async ensureOpen(signal: AbortSignal): Promise<void> {
    if (!this.stream.isOpen) await this.stream.open(signal)
  }

  async plugs(_call: Call): Promise<PlugInfo[]> {
    return Array.from({ length: this.channels }, (_, i) => ({ id: String(i + 1), name: `relay ${i + 1}` }))
  }

  async status(plugs: readonly string[], call: Call): Promise<Map<string, PowerState>> {
    for (const p of plugs) channel(p, this.channels, this.label)
    if (plugs.length > 0) await this.ensureOpen(call.signal)
    return new Map(plugs.map((p) => [p, 'unknown' as const]))
  }

  async set(plug: string, action: DeviceAction, call: Call): Promise<void> {
    const ch = channel(plug, this.channels, this.label)
    if (action === 'cycle') throw noCycle(this.label)
    await this.ensureOpen(call.signal)
    await this.stream.write(ch340Frame(ch, action === 'on'), call.signal)
    // the board's MCU needs a pause before it reads the next frame
    await sleep(this.cfg.frameGapMs, call.signal)
  }

  async close(): Promise<void> {
    await this.stream.close()
  }
}

/**
 * A dcttech HID relay board (`USBRelayN`, 16c0:05df): feature report 0 with `FF n` (on) or `FD n`
 * (off); the feature report read back carries the board's serial (bytes 0-4) and the relay
 * states (byte 7, bit n-1): a verified device.
 */
export class DctRelayDriver implements PowerDriver {
  readonly kind = 'usb-relay'
  private readonly host: HidHost
  private dev: { hid: HidDeviceLike; channels: number } | undefined
  private readonly label: string

  constructor(
    private readonly cfg: UsbRelayConfig,
    deviceId: string,
    opts: { host?: HidHost; log?: DriverContext['log'] } = {},
  ) {
    this.host = opts.host ?? (cfg.simulated ? simulatedHidHost(cfg.simulated) : realHidHost())
    this.label = `${deviceId} (dcttech relay${cfg.serial ? ` ${cfg.serial}` : ''})`
  }

  /** One exchange with the configured timeout and the caller's signal. */
  private async io<T>(what: string, signal: AbortSignal, run: () => Promise<T>): Promise<T> {
    if (signal.aborted) throw abortError(signal)
    let timer: NodeJS.Timeout | undefined
    let onAbort: (() => void) | undefined
    try {
      return await Promise.race([
        run(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new FenceError(
                  'DEVICE_TIMEOUT',
                  `${this.label}: ${what}: no answer within ${this.cfg.reportTimeoutMs} ms`,
                ),
              ),
            this.cfg.reportTimeoutMs,
          )
          onAbort = () => reject(abortError(signal))
          signal.addEventListener('abort', onAbort, { once: true })
        }),
      ])
    } catch (e) {
      if (e instanceof FenceError) {
        if (e.code === 'DEVICE_TIMEOUT') await this.drop()
        throw e
      }
      await this.drop()
      const msg = (e as Error).message
      if (/permission|EACCES|access/i.test(msg))
        throw new FenceError(
          'AUTH_REFUSED',
          `${this.label}: ${what}: permission denied on the hidraw node (udev rule: docs/drivers/usb-relay.md)`,
        )
      throw new FenceError('CONNECTION_LOST', `${this.label}: ${what}: ${msg}`)
    } finally {
      clearTimeout(timer)
      if (onAbort) signal.removeEventListener('abort', onAbort)
    }
  }

  private async drop(): Promise<void> {
    const d = this.dev
    this.dev = undefined
    await d?.hid.close().catch(() => {})
  }

  private async read(hid: HidDeviceLike, signal: AbortSignal): Promise<{ serial: string; mask: number }> {
    const buf = await this.io('get feature report', signal, () => hid.getFeatureReport(0, DCT_REPORT_LENGTH))
    try {
      return parseDctStatus(buf)
    } catch (e) {
      throw new FenceError('PROTOCOL_ERROR', `${this.label}: ${(e as Error).message}`)
    }
  }

  private async device(signal: AbortSignal): Promise<{ hid: HidDeviceLike; channels: number }> {
    if (this.dev) return this.dev
    const found = (await this.io('list', signal, () => this.host.devices(DCTTECH_VID, DCTTECH_PID))).filter(
      (d) => /^USBRelay\d$/.test(d.product ?? '') && (!this.cfg.hidPath || d.path === this.cfg.hidPath),
    )
    for (const info of found) {
      const hid = await this.io('open', signal, () => this.host.open(info.path))
      const { serial } = await this.read(hid, signal)
      if (this.cfg.serial && serial !== this.cfg.serial) {
        await hid.close()
        continue
      }
      this.dev = { hid, channels: this.cfg.channels ?? Number(info.product!.slice(8)) }
      return this.dev
    }
    throw new FenceError(
      'DEVICE_UNREACHABLE',
      `${this.label}: no such board (${this.host.label}: ${found.length} USBRelay boards)`,
    )
  }

  async plugs(call: Call): Promise<PlugInfo[]> {
    const { channels } = await this.device(call.signal)
    return Array.from({ length: channels }, (_, i) => ({ id: String(i + 1), name: `relay ${i + 1}` }))
  }

  async status(plugs: readonly string[], call: Call): Promise<Map<string, PowerState>> {
    const out = new Map<string, PowerState>()
    if (plugs.length === 0) return out
    const d = await this.device(call.signal)
    const chs = plugs.map((p) => channel(p, d.channels, this.label))
    const { mask } = await this.read(d.hid, call.signal)
    for (const [i, p] of plugs.entries()) out.set(p, mask & (1 << (chs[i]! - 1)) ? 'on' : 'off')
    return out
  }

  async set(plug: string, action: DeviceAction, call: Call): Promise<void> {
    if (action === 'cycle') throw noCycle(this.label)
    const d = await this.device(call.signal)
    const ch = channel(plug, d.channels, this.label)
    const sent = await this.io('send feature report', call.signal, () =>
      d.hid.sendFeatureReport(dctCommand(ch, action === 'on')),
    )
    if (sent !== DCT_REPORT_LENGTH)
      throw new FenceError(
        'PROTOCOL_ERROR',
        `${this.label}: the board took ${sent} of ${DCT_REPORT_LENGTH} bytes`,
      )
  }

  async close(): Promise<void> {
    await this.drop()
  }
}
