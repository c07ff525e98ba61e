import net from 'node:net'
import type { ControlSetup, UsbDeviceLike, UsbHost } from './host.js'

/**
 * A simulated USB host in another process (`fencegate lab` with a usb-hub device that listens):
 * each call is one JSON line over one TCP connection to the lab's bridge
 * (firmware-mocks/usb-hub/bridge.ts). Lab use only; a real hub is reached with the usb package.
 */

export interface BridgeDevice {
  key: string
  vendorId: number
  productId: number
  usbVersionMajor: number
  deviceClass: number
  bus: string
  address: number
  ports: number[]
  serialNumber: string | null
}

export type BridgeRequest =
  | { op: 'devices' }
  | { op: 'open'; key: string }
  | { op: 'in'; key: string; setup: ControlSetup; length: number }
  | { op: 'out'; key: string; setup: ControlSetup; data: string }
  | { op: 'read'; path: string }
  | { op: 'write'; path: string; data: string }

export type BridgeReply = { ok: true; result?: unknown } | { ok: false; message: string; code?: string }

function ask(host: string, port: number, req: BridgeRequest, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port })
    let buf = ''
    const timer = setTimeout(() => {
      sock.destroy()
      reject(new Error('LIBUSB_ERROR_TIMEOUT: the transfer timed out'))
    }, timeoutMs)
    sock.setEncoding('utf8')
    sock.on('connect', () => sock.write(`${JSON.stringify(req)}\n`))
    sock.on('data', (d: string) => {
      buf += d
      const nl = buf.indexOf('\n')
      if (nl < 0) return
      clearTimeout(timer)
      sock.end()
      let reply: BridgeReply
      try {
        reply = JSON.parse(buf.slice(0, nl)) as BridgeReply
      } catch {
        reject(new Error('the simulated bus answered something unreadable'))
        return
      }
      if (reply.ok) resolve(reply.result)
      else {
        const e: NodeJS.ErrnoException = new Error(reply.message)
        if (reply.code) e.code = reply.code
        reject(e)
      }
    })
    sock.on('error', (e) => {
      clearTimeout(timer)
      // the lab is gone: as a hub gone from the bus
      reject(new Error(`LIBUSB_ERROR_NO_DEVICE: simulated bus ${host}:${port}: ${e.message}`))
    })
  })
}

export function bridgeHost(address: { host: string; port: number }, timeoutMs: number): UsbHost {
  const { host, port } = address
  const call = (req: BridgeRequest, ms = timeoutMs) => ask(host, port, req, ms)
  const device = (d: BridgeDevice): UsbDeviceLike => {
    let opened = false
    return {
      ...d,
      get opened() {
        return opened
      },
      async open() {
        await call({ op: 'open', key: d.key })
        opened = true
      },
      async close() {
        opened = false
      },
      async controlTransferIn(setup, length, ms) {
        const r = (await call({ op: 'in', key: d.key, setup, length }, ms ?? timeoutMs)) as { data?: string }
        if (r.data === undefined) return { status: 'stall' as const }
        const b = Uint8Array.from(Buffer.from(r.data, 'hex'))
        return { status: 'ok' as const, data: new DataView(b.buffer) }
      },
      async controlTransferOut(setup, data, ms) {
        const hex = data ? Buffer.from(data).toString('hex') : ''
        const r = (await call({ op: 'out', key: d.key, setup, data: hex }, ms ?? timeoutMs)) as {
          stall?: boolean
        }
        return r.stall
          ? { status: 'stall' as const, bytesWritten: 0 }
          : { status: 'ok' as const, bytesWritten: data?.length ?? 0 }
      },
    }
  }
  return {
    label: `simulated USB bus ${host}:${port}`,
    async getDevices() {
      return ((await call({ op: 'devices' })) as BridgeDevice[]).map(device)
    },
    sysfs: {
      readFile: async (p) => (await call({ op: 'read', path: p })) as string,
      writeFile: async (p, data) => {
        await call({ op: 'write', path: p, data })
      },
    },
  }
}
