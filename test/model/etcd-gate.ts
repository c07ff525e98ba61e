/**
 * A network cut between one replica and etcd, for the replica model: a TCP relay per etcd
 * endpoint that the replica dials instead of etcd. `cut()` stops relaying both ways (the
 * connections stay open, bytes wait: a partition, not a reset); `mend()` lets them flow again.
 */
import net from 'node:net'

export class EtcdGate {
  private readonly servers: net.Server[] = []
  private readonly sockets = new Set<net.Socket>()
  private blocked = false
  readonly endpoints: string[] = []

  private constructor() {}

  static async open(targets: string[]): Promise<EtcdGate> {
    const g = new EtcdGate()
    for (const t of targets) {
      const u = new URL(t)
      const server = net.createServer((inbound) => {
        const outbound = net.connect(Number(u.port), u.hostname)
        for (const s of [inbound, outbound]) {
          g.sockets.add(s)
          s.on('error', () => {})
          s.on('close', () => {
            g.sockets.delete(s)
            inbound.destroy()
            outbound.destroy()
          })
          if (g.blocked) s.pause()
        }
        inbound.pipe(outbound)
        outbound.pipe(inbound)
      })
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
      g.servers.push(server)
      g.endpoints.push(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`)
    }
    return g
  }

  cut(): void {
    this.blocked = true
    for (const s of this.sockets) s.pause()
  }

  mend(): void {
    this.blocked = false
    for (const s of this.sockets) s.resume()
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy()
    await Promise.all(this.servers.map((s) => new Promise((r) => s.close(r))))
  }
}
