import type { HidDeviceLike, HidHost, HidInfo } from '../../drivers/usb-relay/hid.js'
import { DCTTECH_PID, DCTTECH_VID, DCT_ALL_OFF, DCT_ALL_ON, DCT_OFF, DCT_ON } from '../../protocols/usb.js'
import type { DeviceSimulator } from '../simulator.js'

/**
 * A dcttech `USBRelayN` board at the feature-report level: `FF n` / `FD n` / `FE` / `FC` / `FA
 * serial` in, the serial and the relay bitmask out (byte 7, bit n-1). Faults per report:
 * drop/stall = no answer (the host's timeout), disconnect = the board leaves the bus, garble = a
 * short report, delay.
 */
export class DctBoard {
  readonly path: string
  private gone = false

  constructor(
    private readonly sim: DeviceSimulator,
    public serial: string,
    id: string,
  ) {
    this.path = `/dev/hidraw-sim-${id}`
  }

  get relays(): number {
    return this.sim.plugIds().length
  }

  info(): HidInfo {
    return {
      path: this.path,
      vendorId: DCTTECH_VID,
      productId: DCTTECH_PID,
      product: `USBRelay${this.relays}`,
    }
  }

  private present(): boolean {
    return !this.gone && !this.sim.faults.list().some((f) => f.type === 'disconnect')
  }

  private async exchange<T>(run: () => T): Promise<T> {
    if (!this.present()) throw new Error('could not read from HID device: the device is gone')
    const d = this.sim.faults.decide()
    if (d.delayMs) await new Promise((r) => setTimeout(r, d.delayMs))
    if (d.drop || d.stall) return new Promise<T>(() => {})
    if (d.disconnect) throw new Error('could not read from HID device: the device is gone')
    const r = run()
    if (d.garble && Buffer.isBuffer(r)) return r.subarray(0, 5) as T
    return r
  }

  private command(data: number[]): void {
    // node-hid's buffer: report id 0, then the 8 bytes
    const [, cmd, n] = data
    const ids = this.sim.plugIds()
    if (cmd === DCT_ON || cmd === DCT_OFF) {
      if (n !== undefined && this.sim.has(String(n)))
        this.sim.command(String(n), cmd === DCT_ON ? 'on' : 'off')
    } else if (cmd === DCT_ALL_ON || cmd === DCT_ALL_OFF) {
      for (const id of ids) this.sim.command(id, cmd === DCT_ALL_ON ? 'on' : 'off')
    } else if (cmd === 0xfa) {
      this.serial = Buffer.from(data.slice(2, 7)).toString('latin1')
    }
  }

  report(): Buffer {
    const b = Buffer.alloc(9)
    b.write(this.serial.padEnd(5, '\0').slice(0, 5), 1, 'latin1')
    let mask = 0
    for (const id of this.sim.plugIds()) if (this.sim.state(id) === 'on') mask |= 1 << (Number(id) - 1)
    b[8] = mask
    return b
  }

  open(): HidDeviceLike {
    let open = true
    const check = () => {
      if (!open) throw new Error('the HID device is closed')
    }
    return {
      sendFeatureReport: (data) =>
        this.exchange(() => {
          check()
          this.command(data)
          return data.length
        }),
      getFeatureReport: (_id, _len) =>
        this.exchange(() => {
          check()
          return this.report()
        }),
      close: async () => {
        open = false
      },
    }
  }

  host(label: string): HidHost {
    return {
      label,
      devices: async (v, p) =>
        this.present() && v === DCTTECH_VID && p === DCTTECH_PID ? [this.info()] : [],
      open: async (path) => {
        if (!this.present() || path !== this.path) throw new Error(`cannot open device with path ${path}`)
        return this.open()
      },
    }
  }
}
