import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { ControlSetup, UsbDeviceLike, UsbHost } from '../../drivers/usb-hub/host.js'
import {
  CLASS_HUB,
  DT_BOS,
  DT_HUB,
  DT_SS_HUB,
  PORT_POWER,
  PORT_STAT_CONNECTION,
  PORT_STAT_ENABLE,
  type PowerSwitching,
  REQ_CLEAR_FEATURE,
  REQ_GET_DESCRIPTOR,
  REQ_GET_STATUS,
  REQ_SET_FEATURE,
  buildBos,
  buildHubDescriptor,
  parseLocation,
  powerBit,
} from '../../protocols/usb.js'
import type { DeviceSimulator } from '../simulator.js'

export interface UsbHubModelSpec {
  /** 2: one USB 2 hub; 3: a USB 3 hub, a SuperSpeed half plus its USB 2 companion. */
  usb: 2 | 3
  switching: PowerSwitching
  /** The hub's location (the USB 3 half's for usb 3), e.g. `2-1`. */
  location: string
  /** usb 3: the USB 2 companion's location, e.g. `1-1`. */
  companion: string
  vendorId: number
  productId: number
  serial: string
  /** Both halves carry a BOS Container ID (else they pair by port path only). */
  containerId: boolean
  /** The kernel has sysfs `disable` attributes (≥ 6.0). */
  sysfs: boolean
  /** The kernel powers a port back on once after a hub request switched it off (uhubctl -r). */
  kernelRepower: boolean
}

type Half = 'ss' | 'hs'

/** Misbehaviour a test can switch on, beyond the shared faults. */
export interface HubQuirks {
  /** Answer GET_DESCRIPTOR (hub) with this descriptor type instead. */
  descriptorType?: number
  /** Answer GET_STATUS with fewer than 4 bytes. */
  shortStatus?: boolean
  /** The hub vanishes from the bus after this many more transfers. */
  vanishAfter?: number
  /** Opening the device node fails with a permission error (no udev rule). */
  noPermission?: boolean
}

const CONTAINER_ID = '5cf3ee30d5074925b001802d79434c30'

/**
 * A USB hub answering hub class control transfers (GET_DESCRIPTOR, GET_STATUS, SET/CLEAR_FEATURE
 * PORT_POWER) through the `usb` package's device interface, and a fake sysfs tree whose `disable`
 * files act on the same ports. VBUS of a port is the shared simulator's outlet; a USB 3 port's
 * VBUS drops only when both halves have switched it off.
 */
export class UsbHubModel {
  readonly quirks: HubQuirks = {}
  /** Halves that have switched a port off (VBUS still on while one half has not, on usb 3). */
  private readonly halfOff = new Map<string, Set<Half>>()
  /** Ports the kernel will power back on at the next transfer / has already done so. */
  private readonly repowerDue = new Map<string, Half>()
  private readonly repowered = new Set<string>()
  private vanished = false
  readonly devices: SimHubDevice[]
  /** Every transfer received, `GET_STATUS ss 3`, for tests. */
  readonly transfers: string[] = []

  constructor(
    readonly sim: DeviceSimulator,
    readonly spec: UsbHubModelSpec,
    readonly sysfsRoot: string,
  ) {
    for (const p of sim.plugIds()) this.halfOff.set(p, new Set())
    sim.on('change', (plug, state) => {
      if (state === 'on') this.halfOff.get(plug)?.clear()
    })
    this.devices =
      spec.usb === 3
        ? [new SimHubDevice(this, 'ss', spec.location), new SimHubDevice(this, 'hs', spec.companion)]
        : [new SimHubDevice(this, 'hs', spec.location)]
  }

  get ports(): number {
    return this.sim.plugIds().length
  }

  /** Is the hub on the bus? (the disconnect fault, a test's vanish) */
  present(): boolean {
    return !this.vanished && !this.sim.faults.list().some((f) => f.type === 'disconnect')
  }

  /** Write the sysfs tree (directories per half and port, `disable` files when the kernel has them). */
  writeSysfs(): void {
    mkdirSync(this.sysfsRoot, { recursive: true })
    for (const d of this.devices) {
      for (let n = 1; n <= this.ports; n++) {
        const dir = path.join(this.sysfsRoot, `${d.location}:1.0`, `${d.location}-port${n}`)
        mkdirSync(dir, { recursive: true })
        if (this.spec.sysfs) writeFileSync(path.join(dir, 'disable'), '0\n')
      }
    }
  }

  removeSysfs(): void {
    rmSync(this.sysfsRoot, { recursive: true, force: true })
  }

  /** The UsbHost the driver is given: the devices on this simulated bus and the sysfs files. */
  host(label: string): UsbHost {
    return {
      label,
      getDevices: async () => (this.present() ? [...this.devices] : []),
      sysfs: {
        readFile: async (p) => this.readSysfs(p),
        writeFile: async (p, data) => this.writeSysfsFile(p, data),
      },
    }
  }

  private sysfsTarget(p: string): { half: SimHubDevice; port: string } | undefined {
    const rel = path.relative(this.sysfsRoot, p)
    const m = /^([0-9.-]+):1\.0\/([0-9.-]+)-port(\d+)\/disable$/.exec(rel)
    if (!m || m[1] !== m[2]) return undefined
    const half = this.devices.find((d) => d.location === m[1])
    if (!half || !this.sim.has(m[3]!)) return undefined
    return { half, port: m[3]! }
  }

  private readSysfs(p: string): string {
    const t = this.sysfsTarget(p)
    if (!t || !this.spec.sysfs || !this.present()) throw errno('ENOENT', p)
    return this.halfOff.get(t.port)!.has(t.half.half) ? '1\n' : '0\n'
  }

  private async writeSysfsFile(p: string, data: string): Promise<void> {
    const t = this.sysfsTarget(p)
    if (!t || !this.spec.sysfs || !this.present()) throw errno('ENOENT', p)
    const d = this.sim.faults.decide()
    if (d.delayMs) await new Promise((r) => setTimeout(r, d.delayMs))
    // the kernel's own control transfer to the hub: a stalled hub times out, a lost one is gone
    if (d.drop || d.stall) throw errno('ETIMEDOUT', p)
    if (d.disconnect || !this.present()) throw errno('ENODEV', p)
    if (d.garble) throw errno('EPROTO', p)
    const v = data.trim()
    if (v !== '0' && v !== '1') throw errno('EINVAL', p)
    this.transfers.push(`sysfs ${t.half.half} ${t.port} disable=${v}`)
    writeFileSync(p, `${v}\n`)
    this.switch(t.half.half, t.port, v === '0', false)
  }

  /** One port (or, ganged, every port) switched by one half. */
  private switch(half: Half, port: string, on: boolean, hubRequest: boolean): void {
    const ports = this.spec.switching === 'ganged' ? this.sim.plugIds() : [port]
    for (const p of ports) {
      const off = this.halfOff.get(p)!
      if (on) {
        off.delete(half)
        this.repowered.delete(p)
        this.repowerDue.delete(p)
        if (this.sim.state(p) === 'off' || this.sim.outlet(p).pending) this.sim.command(p, 'on')
        continue
      }
      off.add(half)
      if (off.size < this.devices.length) continue
      // VBUS drops: every half has switched the port off
      if (!this.sim.command(p, 'off')) {
        off.clear() // the lie: acknowledged, and the port stays powered
        continue
      }
      if (hubRequest && this.spec.kernelRepower && !this.repowered.has(p)) this.repowerDue.set(p, half)
    }
  }

  /** The kernel's hub driver notices the unpowered port and powers it again (once). */
  private kernelTick(): void {
    for (const [p, half] of this.repowerDue) {
      // the half the hub driver sees unpowered is powered again, and with it VBUS
      this.repowered.add(p)
      const off = this.halfOff.get(p)!
      this.sim.setPhysical(p, 'on')
      off.clear()
      for (const h of this.devices.map((d) => d.half)) if (h !== half) off.add(h) // … the other stays off
    }
    this.repowerDue.clear()
  }

  private portStatus(half: Half, port: string): number {
    const powered = this.sim.state(port) === 'on' && !this.halfOff.get(port)!.has(half)
    return powered ? powerBit(half === 'ss') | PORT_STAT_CONNECTION | PORT_STAT_ENABLE : 0
  }

  /** One control transfer from the host; `undefined` data = a stall. */
  async transfer(
    dev: SimHubDevice,
    dir: 'in' | 'out',
    setup: ControlSetup,
    length: number,
  ): Promise<{ data?: Uint8Array; stall?: boolean }> {
    if (!this.present()) throw new Error('LIBUSB_ERROR_NO_DEVICE: the device has been disconnected')
    if (this.quirks.vanishAfter !== undefined && this.quirks.vanishAfter-- <= 0) {
      this.vanished = true
      throw new Error('LIBUSB_ERROR_NO_DEVICE: the device has been disconnected')
    }
    const d = this.sim.faults.decide()
    if (d.delayMs) await new Promise((r) => setTimeout(r, d.delayMs))
    // USB carries a CRC: a noisy cable shows as a short or failed transfer, never as flipped bits
    if (d.drop || d.stall) return new Promise(() => {}) // no handshake: the host's timeout ends it
    if (d.disconnect) throw new Error('LIBUSB_ERROR_NO_DEVICE: the device has been disconnected')
    this.kernelTick()
    const r = this.answer(dev, dir, setup, length)
    if (d.garble)
      return r.data && r.data.length > 0 ? { data: r.data.subarray(0, r.data.length - 1) } : { stall: true }
    return r
  }

  private answer(
    dev: SimHubDevice,
    dir: 'in' | 'out',
    s: ControlSetup,
    length: number,
  ): { data?: Uint8Array; stall?: boolean } {
    const port = String(s.index)
    const name =
      s.request === REQ_GET_DESCRIPTOR
        ? `GET_DESCRIPTOR 0x${(s.value >> 8).toString(16)}`
        : s.request === REQ_GET_STATUS
          ? 'GET_STATUS'
          : s.request === REQ_SET_FEATURE
            ? 'SET_FEATURE'
            : s.request === REQ_CLEAR_FEATURE
              ? 'CLEAR_FEATURE'
              : `request ${s.request}`
    this.transfers.push(`${name} ${dev.half} ${s.index}`)
    const clip = (b: Uint8Array) => ({ data: b.subarray(0, Math.min(length, b.length)) })
    if (dir === 'in' && s.request === REQ_GET_DESCRIPTOR) {
      const type = s.value >> 8
      if (s.requestType === 'standard' && type === DT_BOS)
        return this.spec.containerId ? clip(buildBos(CONTAINER_ID)) : { stall: true }
      if (s.requestType !== 'class' || type !== (dev.half === 'ss' ? DT_SS_HUB : DT_HUB))
        return { stall: true }
      const b = buildHubDescriptor({
        usb3: dev.half === 'ss',
        ports: this.ports,
        switching: this.spec.switching,
      })
      if (this.quirks.descriptorType !== undefined) b[1] = this.quirks.descriptorType
      return clip(b)
    }
    if (dir === 'in' && s.request === REQ_GET_STATUS && s.recipient === 'other') {
      if (!this.sim.has(port)) return { stall: true }
      const st = this.portStatus(dev.half, port)
      const b = Uint8Array.from([st & 0xff, st >> 8, 0, 0])
      return clip(this.quirks.shortStatus ? b.subarray(0, 2) : b)
    }
    if (
      dir === 'out' &&
      (s.request === REQ_SET_FEATURE || s.request === REQ_CLEAR_FEATURE) &&
      s.recipient === 'other' &&
      s.value === PORT_POWER
    ) {
      if (!this.sim.has(port) || this.spec.switching === 'none') return { stall: true }
      this.switch(dev.half, port, s.request === REQ_SET_FEATURE, true)
      return {}
    }
    return { stall: true }
  }
}

/** One hub (half) on the simulated bus, with the `usb` package's (WebUSB) device interface. */
export class SimHubDevice implements UsbDeviceLike {
  readonly vendorId: number
  readonly productId: number
  readonly usbVersionMajor: number
  readonly deviceClass = CLASS_HUB
  readonly bus: string
  readonly address: number
  readonly ports: number[]
  private isOpen = false

  constructor(
    private readonly model: UsbHubModel,
    readonly half: Half,
    readonly location: string,
  ) {
    const loc = parseLocation(location)!
    this.bus = String(loc.bus)
    this.ports = loc.ports
    this.address = half === 'ss' ? 3 : 2
    this.vendorId = model.spec.vendorId
    // a USB 3 hub's USB 2 companion has its own product id
    this.productId =
      model.spec.usb === 3 && half === 'hs' ? model.spec.productId + 0x2000 : model.spec.productId
    this.usbVersionMajor = half === 'ss' ? 3 : 2
  }

  get serialNumber(): string | null {
    return this.model.spec.serial || null
  }

  get opened(): boolean {
    return this.isOpen
  }

  async open(): Promise<void> {
    if (!this.model.present()) throw new Error('LIBUSB_ERROR_NO_DEVICE: the device has been disconnected')
    if (this.model.quirks.noPermission)
      throw new Error('LIBUSB_ERROR_ACCESS: Access denied (insufficient permissions)')
    this.isOpen = true
  }

  async close(): Promise<void> {
    this.isOpen = false
  }

  async controlTransferIn(setup: ControlSetup, length: number) {
    if (!this.isOpen) throw new Error('the device must be opened first')
    const r = await this.model.transfer(this, 'in', setup, length)
    if (r.stall || !r.data) return { status: 'stall' as const }
    const copy = Uint8Array.from(r.data)
    return { status: 'ok' as const, data: new DataView(copy.buffer) }
  }

  async controlTransferOut(setup: ControlSetup, data?: Uint8Array) {
    if (!this.isOpen) throw new Error('the device must be opened first')
    const r = await this.model.transfer(this, 'out', setup, data?.length ?? 0)
    return r.stall
      ? { status: 'stall' as const, bytesWritten: 0 }
      : { status: 'ok' as const, bytesWritten: data?.length ?? 0 }
  }
}

function errno(code: string, p: string): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(`${code}: ${p}`)
  e.code = code
  return e
}
