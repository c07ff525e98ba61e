import { readFile, writeFile } from 'node:fs/promises'
import { FenceError } from '../../core/errors.js'

/**
 * What the usb-hub driver needs of the machine: the USB devices (with the `usb` package's
 * WebUSB device interface, usb 3.x) and the sysfs files. The real host is the `usb` package and
 * node:fs; the lab's usb-hub mock supplies a simulated one (firmware-mocks/usb-hub).
 */

export interface ControlSetup {
  requestType: 'standard' | 'class' | 'vendor'
  recipient: 'device' | 'interface' | 'endpoint' | 'other'
  request: number
  value: number
  index: number
}

/** The part of the `usb` package's UsbDevice (a WebUSB USBDevice plus bus/ports) the driver uses. */
export interface UsbDeviceLike {
  vendorId: number
  productId: number
  usbVersionMajor: number
  deviceClass: number
  /** The bus number as a string (`"1"`). */
  bus: string
  address: number
  /** The port path from the root hub (`[1, 4]` for `1-1.4`). */
  ports: number[]
  readonly serialNumber: string | null
  readonly opened: boolean
  open(): Promise<void>
  close(): Promise<void>
  controlTransferIn(
    setup: ControlSetup,
    length: number,
    timeoutMs?: number,
  ): Promise<{ data?: DataView; status: 'ok' | 'stall' | 'babble' }>
  controlTransferOut(
    setup: ControlSetup,
    data?: Uint8Array,
    timeoutMs?: number,
  ): Promise<{ bytesWritten: number; status: 'ok' | 'stall' }>
}

/** The sysfs files the driver touches (read and write a `disable` attribute). */
export interface SysfsIo {
  readFile(path: string): Promise<string>
  writeFile(path: string, data: string): Promise<void>
}

export interface UsbHost {
  /** For messages: `libusb` or `simulated hub lab1`. */
  readonly label: string
  getDevices(): Promise<UsbDeviceLike[]>
  readonly sysfs: SysfsIo
}

const realSysfs: SysfsIo = {
  readFile: (p) => readFile(p, 'utf8'),
  writeFile: (p, d) => writeFile(p, d),
}

/** The machine's own USB: the `usb` package (loaded on first use) and the real sysfs. */
export function realHost(transferTimeoutMs: number): UsbHost {
  let lib: Promise<{ getDevices(): Promise<UsbDeviceLike[]> }> | undefined
  const load = () => {
    lib ??= import('usb')
      .then(
        (m) =>
          new m.WebUSB({ allowAllDevices: true, deviceTimeout: transferTimeoutMs }) as unknown as {
            getDevices(): Promise<UsbDeviceLike[]>
          },
      )
      .catch((e: unknown) => {
        lib = undefined
        throw new FenceError(
          'DEVICE_ERROR',
          `the usb package does not load on this machine: ${(e as Error).message} (see docs/drivers/usb-hub.md)`,
        )
      }) as Promise<{ getDevices(): Promise<UsbDeviceLike[]> }>
    return lib
  }
  return {
    label: 'libusb',
    async getDevices() {
      return (await load()).getDevices()
    },
    sysfs: realSysfs,
  }
}

/**
 * Simulated hosts by name: a lab's usb-hub mock attaches one while it runs, and a driver whose
 * config says `simulated: NAME` uses it instead of the machine's USB. In-process only (the demo,
 * tests): a daemon in another process cannot reach a lab's simulated hub.
 */
const simulated = new Map<string, UsbHost>()

export function attachSimulatedHost(name: string, host: UsbHost): () => void {
  if (simulated.has(name)) throw new Error(`a simulated USB host named ${name} is already attached`)
  simulated.set(name, host)
  return () => {
    if (simulated.get(name) === host) simulated.delete(name)
  }
}

export function simulatedHost(name: string): UsbHost {
  return {
    label: `simulated USB host ${name}`,
    getDevices() {
      const h = simulated.get(name)
      if (!h)
        return Promise.reject(
          new FenceError('DEVICE_UNREACHABLE', `no simulated USB host named ${name} is running`),
        )
      return h.getDevices()
    },
    sysfs: {
      readFile: (p) => simulated.get(name)?.sysfs.readFile(p) ?? Promise.reject(enoent(p)),
      writeFile: (p, d) => simulated.get(name)?.sysfs.writeFile(p, d) ?? Promise.reject(enoent(p)),
    },
  }
}

export function enoent(p: string): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(`ENOENT: no such file or directory, open '${p}'`)
  e.code = 'ENOENT'
  return e
}
