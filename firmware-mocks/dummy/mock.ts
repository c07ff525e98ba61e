import net from 'node:net'
import {
  type DummyRequest,
  MAX_LINE,
  decodeRequest,
  encodeErr,
  encodeOk,
} from '../../protocols/dummy-line.js'
import type { CommonLabSpec, MockDevice } from '../mock.js'
import { DeviceSimulator, garbleBytes } from '../simulator.js'

/** The dummy device: the line protocol of protocols/dummy-line.ts on a TCP port. */
export class DummyMock implements MockDevice {
  readonly kind = 'dummy'
  readonly sim: DeviceSimulator
  private server: net.Server | undefined
  private readonly sockets = new Set<net.Socket>()
  private port = 0

  constructor(
    readonly id: string,
    private readonly common: CommonLabSpec,
  ) {
    this.sim = new DeviceSimulator({
      plugs: common.plugs,
      transitionDelayMs: common.transitionDelayMs,
      initial: common.initial,
    })
  }

  get endpoint(): string {
    return `tcp://${this.common.listen?.host ?? '127.0.0.1'}:${this.port}`
  }

  get address(): { host: string; port: number } {
    return { host: this.common.listen?.host ?? '127.0.0.1', port: this.port }
  }

  async start(): Promise<void> {
    const server = net.createServer((s) => this.serve(s))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.common.listen?.port ?? 0, this.common.listen?.host ?? '127.0.0.1', () => resolve())
    })
    this.port = (server.address() as net.AddressInfo).port
    this.server = server
  }

  private serve(socket: net.Socket): void {
    this.sockets.add(socket)
    const end = this.sim.sessions.begin()
    socket.on('close', () => {
      this.sockets.delete(socket)
      end()
    })
    socket.on('error', () => {})
    socket.setEncoding('latin1')
    let buf = ''
    let stalled = false
    socket.on('data', (chunk: string) => {
      if (stalled) return
      buf += chunk
      if (buf.length > MAX_LINE) return socket.destroy()
      let nl = buf.indexOf('\n')
      while (nl >= 0 && !stalled) {
        const line = buf.slice(0, nl)
        buf = buf.slice(nl + 1)
        const d = this.sim.faults.decide()
        if (d.disconnect) return socket.destroy()
        if (d.stall) {
          stalled = true // the device hangs: it reads nothing more on this connection
          return
        }
        if (!d.drop) {
          let answer = Buffer.from(this.answer(line), 'latin1')
          if (d.garble) answer = Buffer.concat([garbleBytes(answer.subarray(0, -1)), Buffer.from('\n')])
          if (d.delayMs > 0) setTimeout(() => socket.writable && socket.write(answer), d.delayMs)
          else socket.write(answer)
        }
        nl = buf.indexOf('\n')
      }
    })
  }

  private answer(line: string): string {
    const req = decodeRequest(line)
    if ('error' in req) return encodeErr(0, 'BAD_COMMAND', req.error)
    try {
      return this.execute(req)
    } catch (e) {
      return encodeErr(req.tag, 'DEVICE_ERROR', (e as Error).message)
    }
  }

  private execute({ tag, verb, args }: DummyRequest): string {
    const missing = args.slice(0, verb === 'SET' ? 1 : undefined).find((p) => !this.sim.has(p))
    if (missing !== undefined) return encodeErr(tag, 'NO_SUCH_PLUG', `no outlet ${missing}`)
    switch (verb) {
      case 'PLUGS':
        return encodeOk(
          tag,
          [...this.sim.outlets.values()].map((o) => [o.id, o.name]),
        )
      case 'STATUS':
        return encodeOk(
          tag,
          (args.length ? args : this.sim.plugIds()).map((p) => [p, this.sim.state(p)]),
        )
      case 'SET': {
        const [plug, action] = args
        if (action !== 'on' && action !== 'off' && action !== 'cycle')
          return encodeErr(tag, 'BAD_COMMAND', `SET takes on, off or cycle`)
        this.sim.command(plug!, action)
        return encodeOk(tag)
      }
      case 'CANCEL':
        for (const p of args) this.sim.cancelPending(p)
        return encodeOk(tag)
    }
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy()
    this.sim.close()
    const server = this.server
    this.server = undefined
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
