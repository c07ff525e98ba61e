import dgram from 'node:dgram'
import { networkInterfaces } from 'node:os'
import { SerialPort } from 'serialport'
import { ClassicFramer, MAX_MSG_BYTES } from './codec.js'
import type { BcastLink, LinkConfig, McastLink, SerialLink, UcastLink } from './config.js'

/**
 * The heartbeat media. Every packet goes out on every link; what comes in is handed up with the
 * link's name (the membership counts each copy for its own link). A link that cannot open (no
 * address on its interface yet, no tty) keeps trying every second: a link failure is a warning
 * and a metric, never a reason to stop the others.
 *
 * Node's dgram has no SO_BINDTODEVICE, so we scope sockets by address instead: ucast receives on
 * the interface's own address, bcast on the interface's broadcast address, mcast on the group
 * (hence two mcast links must differ in group or port — the config checks that).
 */
export interface LinkStats {
  name: string
  kind: LinkConfig['kind']
  state: 'opening' | 'open' | 'error' | 'closed'
  lastError?: string
  sent: number
  sendErrors: number
  /** Heartbeats not sent because the link was not open or its output was backed up. */
  sendSkipped: number
  received: number
  receivedBytes: number
  /** Serial: bytes that were not part of a frame; frames over the size limit. */
  garbageBytes?: number
  overlongFrames?: number
}

export interface Frames {
  netstring: Buffer
  classic: Buffer
}

export type PacketHandler = (link: string, packet: Buffer, from: string) => void

export interface Link {
  readonly name: string
  readonly config: LinkConfig
  open(): void
  send(frames: Frames): void
  close(): Promise<void>
  stats(): LinkStats
}

const RETRY_MS = 1000

abstract class BaseLink implements Link {
  protected s: LinkStats
  protected closed = false
  private retry: NodeJS.Timeout | undefined

  constructor(
    readonly config: LinkConfig,
    protected readonly onPacket: PacketHandler,
    protected readonly onLog: (level: 'info' | 'warn', msg: string) => void,
  ) {
    this.s = {
      name: config.name,
      kind: config.kind,
      state: 'opening',
      sent: 0,
      sendErrors: 0,
      sendSkipped: 0,
      received: 0,
      receivedBytes: 0,
    }
  }

  get name(): string {
    return this.config.name
  }

  abstract open(): void
  abstract send(frames: Frames): void
  protected abstract shut(): Promise<void>

  protected failed(err: unknown): void {
    const msg = err instanceof Error ? err.message : String(err)
    if (this.s.state !== 'error' || this.s.lastError !== msg) this.onLog('warn', `link ${this.name}: ${msg}`)
    this.s.state = 'error'
    this.s.lastError = msg
    if (this.closed || this.retry) return
    this.retry = setTimeout(() => {
      this.retry = undefined
      if (this.closed) return
      void this.shut().then(() => {
        if (!this.closed) this.open()
      })
    }, RETRY_MS)
  }

  protected opened(): void {
    if (this.s.state !== 'open') this.onLog('info', `link ${this.name}: open`)
    this.s.state = 'open'
    delete this.s.lastError
  }

  protected got(packet: Buffer, from: string): void {
    this.s.received++
    this.s.receivedBytes += packet.length
    this.onPacket(this.name, packet, from)
  }

  async close(): Promise<void> {
    this.closed = true
    if (this.retry) clearTimeout(this.retry)
    this.s.state = 'closed'
    await this.shut()
  }

  stats(): LinkStats {
    return { ...this.s }
  }
}

interface IfaceAddr {
  address: string
  netmask: string
  broadcast: string
}

export function ifaceAddress(name: string): IfaceAddr {
  const entry =
    networkInterfaces()[name]?.find((a) => a.family === 'IPv4' && !a.internal) ??
    networkInterfaces()[name]?.find((a) => a.family === 'IPv4')
  if (!entry) throw new Error(`interface ${name} has no IPv4 address`)
  const ip = ipToInt(entry.address)
  const mask = ipToInt(entry.netmask)
  return { address: entry.address, netmask: entry.netmask, broadcast: intToIp((ip | ~mask) >>> 0) }
}

function ipToInt(ip: string): number {
  return ip.split('.').reduce((a, o) => ((a << 8) | Number(o)) >>> 0, 0)
}

function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 0xff).join('.')
}

function bindSocket(sock: dgram.Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e)
    sock.once('error', onError)
    sock.bind({ port, address, exclusive: false }, () => {
      sock.off('error', onError)
      resolve()
    })
  })
}

function closeSocket(sock: dgram.Socket | undefined): Promise<void> {
  if (!sock) return Promise.resolve()
  return new Promise((resolve) => {
    try {
      sock.close(() => resolve())
    } catch {
      resolve()
    }
  })
}

/** Shared ucast receive sockets: several ucast links (one per peer) on one interface and port. */
export class UcastHub {
  private readonly sockets = new Map<
    string,
    { sock: dgram.Socket; links: Set<UcastUdp>; ready: Promise<void> }
  >()

  async attach(link: UcastUdp, address: string, port: number): Promise<dgram.Socket> {
    const key = `${address}:${port}`
    let entry = this.sockets.get(key)
    if (!entry) {
      const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true })
      const links = new Set<UcastUdp>()
      sock.on('message', (msg, rinfo) => {
        if (msg.length > MAX_MSG_BYTES) return
        // the link to the sender's address; a stranger's packet is counted on the first link
        const mine = [...links].find((l) => l.config.peer === rinfo.address) ?? [...links][0]
        mine?.deliver(msg, rinfo.address)
      })
      sock.on('error', (e) => {
        for (const l of links) l.socketFailed(e)
      })
      const created = { sock, links, ready: bindSocket(sock, port, address) }
      entry = created
      this.sockets.set(key, created)
      created.ready.catch(() => {
        if (this.sockets.get(key) === created) this.sockets.delete(key)
      })
    }
    entry.links.add(link)
    await entry.ready
    return entry.sock
  }

  async detach(link: UcastUdp): Promise<void> {
    for (const [key, entry] of this.sockets) {
      if (!entry.links.delete(link) || entry.links.size) continue
      this.sockets.delete(key)
      await closeSocket(entry.sock)
    }
  }
}

class UcastUdp extends BaseLink {
  declare readonly config: UcastLink
  private sock: dgram.Socket | undefined

  constructor(
    config: UcastLink,
    onPacket: PacketHandler,
    onLog: (level: 'info' | 'warn', msg: string) => void,
    private readonly hub: UcastHub,
  ) {
    super(config, onPacket, onLog)
  }

  open(): void {
    this.s.state = 'opening'
    try {
      const { address } = ifaceAddress(this.config.interface)
      this.hub.attach(this, address, this.config.port).then(
        (sock) => {
          if (this.closed) return
          this.sock = sock
          this.opened()
        },
        (e) => this.failed(e),
      )
    } catch (e) {
      this.failed(e)
    }
  }

  deliver(msg: Buffer, from: string): void {
    this.got(msg, from)
  }

  socketFailed(e: Error): void {
    this.sock = undefined
    this.failed(e)
  }

  send(frames: Frames): void {
    if (!this.sock || this.s.state !== 'open') {
      this.s.sendSkipped++
      return
    }
    this.sock.send(frames.netstring, this.config.port, this.config.peer, (e) => {
      if (e) this.sendError(e)
    })
    this.s.sent++
  }

  private sendError(e: Error): void {
    this.s.sendErrors++
    this.s.lastError = e.message
  }

  protected async shut(): Promise<void> {
    this.sock = undefined
    await this.hub.detach(this)
  }
}

/** mcast and bcast: one receive socket on the group / broadcast address, one send socket. */
class GroupUdp extends BaseLink {
  declare readonly config: McastLink | BcastLink
  private rx: dgram.Socket | undefined
  private tx: dgram.Socket | undefined
  private dest = ''

  open(): void {
    this.s.state = 'opening'
    void this.start().catch((e) => this.failed(e))
  }

  private async start(): Promise<void> {
    const iface = ifaceAddress(this.config.interface)
    const c = this.config
    const rx = dgram.createSocket({ type: 'udp4', reuseAddr: true })
    const tx = dgram.createSocket({ type: 'udp4' })
    this.rx = rx
    this.tx = tx
    rx.on('message', (msg, rinfo) => {
      if (msg.length <= MAX_MSG_BYTES) this.got(msg, rinfo.address)
    })
    rx.on('error', (e) => this.failed(e))
    tx.on('error', (e) => this.failed(e))
    if (c.kind === 'mcast') {
      await bindSocket(rx, c.port, c.group)
      rx.addMembership(c.group, iface.address)
      await bindSocket(tx, 0, iface.address)
      tx.setMulticastInterface(iface.address)
      tx.setMulticastTTL(c.ttl)
      tx.setMulticastLoopback(c.loop)
      this.dest = c.group
    } else {
      await bindSocket(rx, c.port, iface.broadcast)
      await bindSocket(tx, 0, iface.address)
      tx.setBroadcast(true)
      this.dest = iface.broadcast
    }
    if (this.closed) return this.shut()
    this.opened()
  }

  send(frames: Frames): void {
    if (!this.tx || this.s.state !== 'open') {
      this.s.sendSkipped++
      return
    }
    this.tx.send(frames.netstring, this.config.port, this.dest, (e) => {
      if (e) {
        this.s.sendErrors++
        this.s.lastError = e.message
      }
    })
    this.s.sent++
  }

  protected async shut(): Promise<void> {
    const { rx, tx } = this
    this.rx = undefined
    this.tx = undefined
    await Promise.all([closeSocket(rx), closeSocket(tx)])
  }
}

/**
 * A null-modem serial line, classic frames (what heartbeat sends on serial). Writes never queue
 * up behind a stalled line: a heartbeat that cannot go out now is skipped, not sent late.
 */
class SerialTty extends BaseLink {
  declare readonly config: SerialLink
  private port: SerialPort | undefined
  private framer = new ClassicFramer()

  open(): void {
    this.s.state = 'opening'
    const port = new SerialPort({
      path: this.config.path,
      baudRate: this.config.baud,
      dataBits: 8,
      parity: 'none',
      stopBits: 1,
      rtscts: this.config.rtscts,
      autoOpen: false,
      lock: true,
    })
    this.framer = new ClassicFramer()
    port.on('data', (chunk: Buffer) => {
      for (const frame of this.framer.push(chunk)) this.got(frame, this.config.path)
      this.s.garbageBytes = this.framer.garbageBytes
      this.s.overlongFrames = this.framer.overlongFrames
    })
    port.on('error', (e) => this.failed(e))
    port.on('close', (e: (Error & { disconnected?: boolean }) | null) => {
      if (this.port !== port) return
      this.port = undefined
      if (!this.closed) this.failed(e ?? new Error('port closed'))
    })
    port.open((e) => {
      if (e) return this.failed(e)
      if (this.closed) {
        port.close()
        return
      }
      this.port = port
      this.opened()
    })
  }

  send(frames: Frames): void {
    const port = this.port
    // a line that does not drain (no cable, flow control held) must not buffer stale heartbeats
    if (!port?.isOpen || port.writableLength > 4 * frames.classic.length) {
      this.s.sendSkipped++
      return
    }
    port.write(frames.classic, (e) => {
      if (e) {
        this.s.sendErrors++
        this.s.lastError = e.message
      }
    })
    this.s.sent++
  }

  protected async shut(): Promise<void> {
    const port = this.port
    this.port = undefined
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()))
  }
}

export function createLink(
  config: LinkConfig,
  onPacket: PacketHandler,
  onLog: (level: 'info' | 'warn', msg: string) => void,
  hub: UcastHub,
): Link {
  switch (config.kind) {
    case 'serial':
      return new SerialTty(config, onPacket, onLog)
    case 'ucast':
      return new UcastUdp(config, onPacket, onLog, hub)
    default:
      return new GroupUdp(config, onPacket, onLog)
  }
}
