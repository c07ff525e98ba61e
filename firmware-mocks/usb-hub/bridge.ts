import net from 'node:net'
import type { UsbDeviceLike, UsbHost } from '../../drivers/usb-hub/host.js'
import type { BridgeReply, BridgeRequest } from '../../drivers/usb-hub/sim-client.js'

/**
 * The simulated bus on a TCP port, for a driver in another process (`fencegate lab`, then
 * `fencegate serve --config`): one JSON line in, one out, per connection (drivers/usb-hub/sim-client.ts).
 * A transfer the hub never answers (stall) gets no reply: the client's timeout ends it.
 */
export class UsbBridge {
  private server: net.Server | undefined
  private readonly sockets = new Set<net.Socket>()
  port = 0

  constructor(private readonly host: UsbHost) {}

  private async device(key: string): Promise<UsbDeviceLike> {
    const d = (await this.host.getDevices()).find((x) => `${x.bus}-${x.ports.join('.')}` === key)
    if (!d) throw new Error('LIBUSB_ERROR_NO_DEVICE: the device has been disconnected')
    return d
  }

  private async handle(req: BridgeRequest): Promise<unknown> {
    switch (req.op) {
      case 'devices':
        return (await this.host.getDevices()).map((d) => ({
          key: `${d.bus}-${d.ports.join('.')}`,
          vendorId: d.vendorId,
          productId: d.productId,
          usbVersionMajor: d.usbVersionMajor,
          deviceClass: d.deviceClass,
          bus: d.bus,
          address: d.address,
          ports: d.ports,
          serialNumber: d.serialNumber,
        }))
      case 'open': {
        const d = await this.device(req.key)
        if (!d.opened) await d.open()
        return null
      }
      case 'in': {
        const d = await this.device(req.key)
        if (!d.opened) await d.open()
        const r = await d.controlTransferIn(req.setup, req.length)
        if (r.status !== 'ok' || !r.data) return {}
        return { data: Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength).toString('hex') }
      }
      case 'out': {
        const d = await this.device(req.key)
        if (!d.opened) await d.open()
        const r = await d.controlTransferOut(req.setup, req.data ? Buffer.from(req.data, 'hex') : undefined)
        return r.status === 'ok' ? {} : { stall: true }
      }
      case 'read':
        return this.host.sysfs.readFile(req.path)
      case 'write':
        await this.host.sysfs.writeFile(req.path, req.data)
        return null
    }
  }

  async start(listen: { host: string; port: number }): Promise<void> {
    const server = net.createServer((sock) => {
      this.sockets.add(sock)
      sock.on('close', () => this.sockets.delete(sock))
      sock.on('error', () => {})
      let buf = ''
      sock.setEncoding('utf8')
      sock.on('data', (d: string) => {
        buf += d
        const nl = buf.indexOf('\n')
        if (nl < 0 || buf.length > 64 * 1024) return
        const line = buf.slice(0, nl)
        buf = ''
        let req: BridgeRequest
        try {
          req = JSON.parse(line) as BridgeRequest
        } catch {
          sock.destroy()
          return
        }
        this.handle(req).then(
          (result) => reply(sock, { ok: true, result }),
          (e: NodeJS.ErrnoException) => reply(sock, { ok: false, message: e.message, code: e.code }),
        )
      })
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(listen.port, listen.host, () => resolve())
    })
    this.port = (server.address() as net.AddressInfo).port
    this.server = server
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy()
    const server = this.server
    this.server = undefined
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

function reply(sock: net.Socket, r: BridgeReply): void {
  if (sock.writable) sock.end(`${JSON.stringify(r)}\n`)
}
