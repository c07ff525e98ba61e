import { FenceError } from '../../core/errors.js'

/** The part of node-hid's HIDAsync the driver uses (feature reports). */
export interface HidDeviceLike {
  sendFeatureReport(data: number[]): Promise<number>
  getFeatureReport(reportId: number, length: number): Promise<Buffer>
  close(): Promise<void>
}

export interface HidInfo {
  path: string
  vendorId: number
  productId: number
  product?: string
}

/** Lists and opens HID devices: node-hid on a real machine, the lab's mock in tests and the demo. */
export interface HidHost {
  readonly label: string
  devices(vendorId: number, productId: number): Promise<HidInfo[]>
  open(path: string): Promise<HidDeviceLike>
}

interface NodeHid {
  devicesAsync(vid: number, pid: number): Promise<HidInfo[]>
  HIDAsync: { open(path: string): Promise<HidDeviceLike> }
}

/** node-hid (loaded on first use; its prebuilt binary needs the system's libusb-1.0 / hidraw). */
export function realHidHost(): HidHost {
  let lib: Promise<NodeHid> | undefined
  const load = () => {
    lib ??= import('node-hid').then(
      (m) => (m.default ?? m) as unknown as NodeHid,
      (e: unknown) => {
        lib = undefined
        throw new FenceError(
          'DEVICE_ERROR',
          `node-hid does not load on this machine: ${(e as Error).message} (see docs/drivers/usb-relay.md)`,
        )
      },
    )
    return lib
  }
  // node-hid loads its native binding on first use: a missing system library shows up here
  const native = async <T>(run: (lib: NodeHid) => Promise<T>): Promise<T> => {
    const lib = await load()
    try {
      return await run(lib)
    } catch (e) {
      const msg = (e as Error).message
      if (/shared object|\.node\b|binding|ELIFECYCLE|dlopen/i.test(msg))
        throw new FenceError(
          'DEVICE_ERROR',
          `node-hid does not load on this machine: ${msg} (see docs/drivers/usb-relay.md)`,
        )
      throw e
    }
  }
  return {
    label: 'hidraw',
    devices: (v, p) => native((lib) => lib.devicesAsync(v, p)),
    open: (p) => native((lib) => lib.HIDAsync.open(p)),
  }
}

const simulated = new Map<string, HidHost>()

/** A lab's HID relay mock attaches its bus while it runs; `simulated: NAME` in a driver config uses it. */
export function attachSimulatedHid(name: string, host: HidHost): () => void {
  if (simulated.has(name)) throw new Error(`a simulated HID host named ${name} is already attached`)
  simulated.set(name, host)
  return () => {
    if (simulated.get(name) === host) simulated.delete(name)
  }
}

export function simulatedHidHost(name: string): HidHost {
  const get = () => {
    const h = simulated.get(name)
    if (!h) throw new FenceError('DEVICE_UNREACHABLE', `no simulated HID host named ${name} is running`)
    return h
  }
  return {
    label: `simulated HID host ${name}`,
    devices: async (v, p) => get().devices(v, p),
    open: async (p) => get().open(p),
  }
}
