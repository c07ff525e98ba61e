import { FenceError, abortError } from '../../core/errors.js'
import type { DeviceAction, PowerState } from '../../core/types.js'
import {
  CLASS_HUB,
  DT_BOS,
  DT_HUB,
  DT_SS_HUB,
  type HubDescriptor,
  PORT_POWER,
  REQ_CLEAR_FEATURE,
  REQ_GET_DESCRIPTOR,
  REQ_GET_STATUS,
  REQ_SET_FEATURE,
  containerIdFromBos,
  formatLocation,
  parseHubDescriptor,
  parseLocation,
  parsePortStatus,
  powerBit,
} from '../../protocols/usb.js'
import type { Call, DriverContext, PlugInfo, PowerDriver } from '../driver.js'
import type { UsbHubConfig } from './options.js'
import { bridgeHost } from './sim-client.js'
import { type ControlSetup, type UsbDeviceLike, type UsbHost, realHost, simulatedHost } from './host.js'

/** One half of a hub (a USB 3 hub is two: its SuperSpeed half and its USB 2 companion). */
interface HubHalf {
  dev: UsbDeviceLike
  location: string
  usb3: boolean
  desc: HubDescriptor
}

const locationOf = (d: UsbDeviceLike) => formatLocation(Number(d.bus), d.ports)
const isHub = (d: UsbDeviceLike) => d.deviceClass === CLASS_HUB
const sameRoute = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((p, i) => p === b[i])

/**
 * Per-port power on a USB hub, with uhubctl's semantics: the sysfs `disable` attribute of a port
 * (kernel ≥ 6.0) first, else hub class requests (SET/CLEAR_FEATURE PORT_POWER); the read-back is
 * the power bit of the port status (GET_STATUS). A USB 3 hub is switched with its USB 2 companion:
 * VBUS drops only when both halves are off. Plug ids are port numbers `1`…`N`.
 */
export class UsbHubDriver implements PowerDriver {
  readonly kind = 'usb-hub'
  private readonly host: UsbHost
  private readonly opened = new Set<UsbDeviceLike>()

  constructor(
    private readonly cfg: UsbHubConfig,
    private readonly deviceId: string,
    opts: { host?: UsbHost; log?: DriverContext['log'] } = {},
  ) {
    const tcp = cfg.simulated ? /^tcp:\/\/([^/]+):(\d+)$/.exec(cfg.simulated) : null
    this.host =
      opts.host ??
      (tcp
        ? bridgeHost({ host: tcp[1]!, port: Number(tcp[2]) }, cfg.transferTimeoutMs)
        : cfg.simulated
          ? simulatedHost(cfg.simulated)
          : realHost(cfg.transferTimeoutMs))
  }

  private get want(): string {
    if (this.cfg.location) return `location ${this.cfg.location}`
    const hex = (n: number | undefined) => (n ?? 0).toString(16).padStart(4, '0')
    return `id ${hex(this.cfg.vendorId)}:${hex(this.cfg.productId)}${this.cfg.serial ? ` serial ${this.cfg.serial}` : ''}`
  }

  private label(loc?: string): string {
    return `${this.deviceId} (USB hub ${loc ?? this.want})`
  }

  /** The device node libusb opens, for permission messages. */
  private static node(d: UsbDeviceLike): string {
    return `/dev/bus/usb/${String(d.bus).padStart(3, '0')}/${String(d.address).padStart(3, '0')}`
  }

  /** A transfer (or open) with the configured timeout and the caller's signal; errors become FenceErrors. */
  private async io<T>(
    dev: UsbDeviceLike,
    what: string,
    signal: AbortSignal,
    run: () => Promise<T>,
  ): Promise<T> {
    if (signal.aborted) throw abortError(signal)
    let timer: NodeJS.Timeout | undefined
    let onAbort: (() => void) | undefined
    const loc = locationOf(dev)
    try {
      return await Promise.race([
        run(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new FenceError(
                  'DEVICE_TIMEOUT',
                  `${this.label(loc)}: ${what}: no answer within ${this.cfg.transferTimeoutMs} ms`,
                ),
              ),
            this.cfg.transferTimeoutMs,
          )
          onAbort = () => reject(abortError(signal))
          signal.addEventListener('abort', onAbort, { once: true })
        }),
      ])
    } catch (e) {
      if (e instanceof FenceError) throw e
      throw this.usbError(dev, what, e)
    } finally {
      clearTimeout(timer)
      if (onAbort) signal.removeEventListener('abort', onAbort)
    }
  }

  private usbError(dev: UsbDeviceLike, what: string, e: unknown): FenceError {
    const msg = e instanceof Error ? e.message : String(e)
    const label = this.label(locationOf(dev))
    if (/access|EACCES|EPERM|permission/i.test(msg))
      return new FenceError(
        'AUTH_REFUSED',
        `${label}: ${what}: permission denied on ${UsbHubDriver.node(dev)}: fencegate's user may not open the hub ` +
          '(install the udev rule in docs/drivers/usb-hub.md)',
      )
    if (/no[_ ]device|disconnect|not found|no such device|ENODEV/i.test(msg)) {
      this.opened.delete(dev)
      return new FenceError('CONNECTION_LOST', `${label}: ${what}: the hub vanished from the bus (${msg})`)
    }
    if (/timeout|timed out/i.test(msg))
      return new FenceError('DEVICE_TIMEOUT', `${label}: ${what}: the transfer timed out (${msg})`)
    return new FenceError('PROTOCOL_ERROR', `${label}: ${what}: ${msg}`)
  }

  private async inTransfer(
    half: { dev: UsbDeviceLike },
    setup: ControlSetup,
    length: number,
    what: string,
    signal: AbortSignal,
  ): Promise<Uint8Array> {
    const r = await this.io(half.dev, what, signal, () =>
      half.dev.controlTransferIn(setup, length, this.cfg.transferTimeoutMs),
    )
    if (r.status !== 'ok' || !r.data)
      throw new FenceError(
        'PROTOCOL_ERROR',
        `${this.label(locationOf(half.dev))}: ${what}: the hub answered ${r.status}`,
      )
    return new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength)
  }

  private async open(dev: UsbDeviceLike, signal: AbortSignal): Promise<void> {
    if (dev.opened) return
    await this.io(dev, 'open', signal, () => dev.open())
    this.opened.add(dev)
  }

  private async descriptor(dev: UsbDeviceLike, signal: AbortSignal): Promise<HubDescriptor> {
    const usb3 = dev.usbVersionMajor >= 3
    const type = usb3 ? DT_SS_HUB : DT_HUB
    const setup: ControlSetup = {
      requestType: 'class',
      recipient: 'device',
      request: REQ_GET_DESCRIPTOR,
      value: type << 8,
      index: 0,
    }
    const buf = await this.inTransfer({ dev }, setup, 16, 'hub descriptor', signal)
    try {
      return parseHubDescriptor(buf, type)
    } catch (e) {
      throw new FenceError(
        'PROTOCOL_ERROR',
        `${this.label(locationOf(dev))}: hub descriptor: ${(e as Error).message}`,
      )
    }
  }

  private async containerId(dev: UsbDeviceLike, signal: AbortSignal): Promise<string | undefined> {
    const setup: ControlSetup = {
      requestType: 'standard',
      recipient: 'device',
      request: REQ_GET_DESCRIPTOR,
      value: DT_BOS << 8,
      index: 0,
    }
    try {
      return containerIdFromBos(await this.inTransfer({ dev }, setup, 64, 'BOS descriptor', signal))
    } catch (e) {
      if (e instanceof FenceError && (e.code === 'ABORTED' || e.code === 'CONNECTION_LOST')) throw e
      return undefined // a hub without BOS: pair by location
    }
  }

  private async half(dev: UsbDeviceLike, signal: AbortSignal): Promise<HubHalf> {
    await this.open(dev, signal)
    return {
      dev,
      location: locationOf(dev),
      usb3: dev.usbVersionMajor >= 3,
      desc: await this.descriptor(dev, signal),
    }
  }

  /** Find the hub (and its companion) on the bus now: a hub that re-enumerated is found again. */
  private async hub(signal: AbortSignal): Promise<HubHalf[]> {
    let devices: UsbDeviceLike[]
    try {
      devices = (await this.host.getDevices()).filter(isHub)
    } catch (e) {
      if (e instanceof FenceError) throw e
      throw new FenceError(
        'DEVICE_UNREACHABLE',
        `${this.label()}: cannot list USB devices: ${(e as Error).message}`,
      )
    }
    if (signal.aborted) throw abortError(signal)
    const loc = this.cfg.location ? parseLocation(this.cfg.location) : undefined
    const dev = devices.find((d) =>
      loc
        ? Number(d.bus) === loc.bus && sameRoute(d.ports, loc.ports)
        : d.vendorId === this.cfg.vendorId &&
          d.productId === this.cfg.productId &&
          (this.cfg.serial === undefined || d.serialNumber === this.cfg.serial),
    )
    if (!dev)
      throw new FenceError(
        'DEVICE_UNREACHABLE',
        `${this.label()}: no such hub on the bus (${this.host.label})`,
      )
    const main = await this.half(dev, signal)
    const mate = await this.companion(main, devices, signal)
    if (mate && mate.desc.ports !== main.desc.ports)
      throw new FenceError(
        'DEVICE_ERROR',
        `${this.label(main.location)}: companion ${mate.location} has ${mate.desc.ports} ports, the hub ${main.desc.ports}: set companion: explicitly`,
      )
    return mate ? [main, mate] : [main]
  }

  private async companion(
    main: HubHalf,
    devices: UsbDeviceLike[],
    signal: AbortSignal,
  ): Promise<HubHalf | undefined> {
    const c = this.cfg.companion
    if (c === 'none') return undefined
    if (c !== 'auto') {
      const at = parseLocation(c)!
      const d = devices.find((x) => Number(x.bus) === at.bus && sameRoute(x.ports, at.ports))
      if (!d)
        throw new FenceError('DEVICE_UNREACHABLE', `${this.label(main.location)}: no companion hub at ${c}`)
      return this.half(d, signal)
    }
    const others = devices.filter(
      (d) => d !== main.dev && d.vendorId === main.dev.vendorId && d.usbVersionMajor >= 3 !== main.usb3,
    )
    if (others.length === 0) return undefined
    const mine = await this.containerId(main.dev, signal)
    for (const d of others) {
      await this.open(d, signal)
      const theirs = await this.containerId(d, signal)
      if (mine && theirs ? mine === theirs : sameRoute(d.ports, main.dev.ports)) return this.half(d, signal)
    }
    return undefined
  }

  private port(plug: string, halves: HubHalf[]): number {
    const n = /^\d{1,2}$/.test(plug) ? Number(plug) : 0
    if (n < 1 || n > halves[0]!.desc.ports)
      throw new FenceError(
        'NO_SUCH_PLUG',
        `${this.label(halves[0]!.location)}: no port '${plug}' (ports 1-${halves[0]!.desc.ports})`,
      )
    return n
  }

  private async powered(h: HubHalf, port: number, signal: AbortSignal): Promise<boolean> {
    const setup: ControlSetup = {
      requestType: 'class',
      recipient: 'other',
      request: REQ_GET_STATUS,
      value: 0,
      index: port,
    }
    const buf = await this.inTransfer(h, setup, 4, `port ${port} status`, signal)
    try {
      return (parsePortStatus(buf).status & powerBit(h.usb3)) !== 0
    } catch (e) {
      throw new FenceError(
        'PROTOCOL_ERROR',
        `${this.label(h.location)}: port ${port} status: ${(e as Error).message}`,
      )
    }
  }

  async plugs(call: Call): Promise<PlugInfo[]> {
    const [main] = await this.hub(call.signal)
    return Array.from({ length: main!.desc.ports }, (_, i) => ({ id: String(i + 1), name: `port ${i + 1}` }))
  }

  async status(plugs: readonly string[], call: Call): Promise<Map<string, PowerState>> {
    const out = new Map<string, PowerState>()
    if (plugs.length === 0) return out
    const halves = await this.hub(call.signal)
    for (const plug of plugs) {
      const port = this.port(plug, halves)
      let any = false
      for (const h of halves) any = (await this.powered(h, port, call.signal)) || any
      out.set(plug, any ? 'on' : 'off')
    }
    return out
  }

  async set(plug: string, action: DeviceAction, call: Call): Promise<void> {
    if (action === 'cycle')
      throw new FenceError(
        'UNSUPPORTED_ACTION',
        `${this.label()}: a hub has no cycle of its own; the engine cycles in software`,
      )
    const halves = await this.hub(call.signal)
    const main = halves[0]!
    const port = this.port(plug, halves)
    for (const h of halves) {
      if (h.desc.switching === 'none')
        throw new FenceError(
          'UNSUPPORTED_ACTION',
          `${this.label(h.location)}: the hub cannot switch port power (wHubCharacteristics 0x${h.desc.characteristics.toString(16).padStart(4, '0')}: no power switching); see docs/drivers/usb-hub.md`,
        )
      if (h.desc.switching === 'ganged' && !this.cfg.ganged)
        throw new FenceError(
          'DEVICE_ERROR',
          `${this.label(h.location)}: the hub's ports are ganged: switching port ${port} switches every port. ` +
            'Refused: set ganged: true and list every node on the hub in gang: (docs/drivers/usb-hub.md)',
        )
    }
    // the USB 3 half first, then its companion, as uhubctl
    for (const h of main.usb3 ? halves : [...halves].reverse())
      await this.switchHalf(h, port, action === 'on', call.signal)
  }

  private sysfsPath(h: HubHalf, port: number): string {
    return `${this.cfg.sysfsRoot}/${h.location}:1.0/${h.location}-port${port}/disable`
  }

  private async switchHalf(h: HubHalf, port: number, on: boolean, signal: AbortSignal): Promise<void> {
    if (this.cfg.sysfs) {
      const p = this.sysfsPath(h, port)
      try {
        await this.host.sysfs.writeFile(p, on ? '0' : '1')
        if (signal.aborted) throw abortError(signal)
        return
      } catch (e) {
        if (e instanceof FenceError) throw e
        const code = (e as NodeJS.ErrnoException).code
        if (code === 'EACCES' || code === 'EPERM')
          throw new FenceError(
            'AUTH_REFUSED',
            `${this.label(h.location)}: permission denied writing ${p} (install the udev rule in docs/drivers/usb-hub.md)`,
          )
        if (code === 'ETIMEDOUT')
          throw new FenceError(
            'DEVICE_TIMEOUT',
            `${this.label(h.location)}: writing ${p}: the hub did not answer the kernel`,
          )
        if (code === 'ENODEV' || code === 'ESHUTDOWN')
          throw new FenceError(
            'CONNECTION_LOST',
            `${this.label(h.location)}: writing ${p}: the hub vanished from the bus`,
          )
        if (code === 'EPROTO' || code === 'EPIPE' || code === 'EIO')
          throw new FenceError('PROTOCOL_ERROR', `${this.label(h.location)}: writing ${p}: ${code}`)
        if (code !== 'ENOENT' && code !== 'ENOTDIR')
          throw new FenceError(
            'DEVICE_ERROR',
            `${this.label(h.location)}: writing ${p}: ${code ?? (e as Error).message}`,
          )
        // no disable attribute (kernel < 6.0, or not this hub): hub requests, as uhubctl
      }
    }
    const setup: ControlSetup = {
      requestType: 'class',
      recipient: 'other',
      request: on ? REQ_SET_FEATURE : REQ_CLEAR_FEATURE,
      value: PORT_POWER,
      index: port,
    }
    const what = `${on ? 'SET' : 'CLEAR'}_FEATURE PORT_POWER port ${port}`
    const times = on ? 1 : this.cfg.offRepeat
    for (let i = 0; i < times; i++) {
      if (i > 0) await sleep(this.cfg.offRepeatGapMs, signal)
      const r = await this.io(h.dev, what, signal, () =>
        h.dev.controlTransferOut(setup, undefined, this.cfg.transferTimeoutMs),
      )
      if (r.status !== 'ok')
        throw new FenceError(
          'PROTOCOL_ERROR',
          `${this.label(h.location)}: ${what}: the hub answered ${r.status}`,
        )
    }
  }

  async close(): Promise<void> {
    const devs = [...this.opened]
    this.opened.clear()
    await Promise.allSettled(devs.map((d) => d.close()))
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(abortError(signal))
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(t)
      reject(abortError(signal))
    }
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
