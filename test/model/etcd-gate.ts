/**
 * A network cut between one replica and etcd, for the replica model: a TCP relay per etcd
 * endpoint that the replica dials instead of etcd. `cut()` stops relaying both ways (the
 * connections stay open, bytes wait: a partition, not a reset); `mend()` lets them flow again.
 * `cut([i])` cuts endpoint i only: one member hung while the others answer.
 */
import net from 'node:net'

export class EtcdGate {
  private readonly servers: net.Server[] = []
  /** open sockets by endpoint index */
  private readonly sockets: Set<net.Socket>[] = []
  private readonly blocked = new Set<number>()
  readonly endpoints: string[] = []

  private constructor() {}

  static async open(targets: string[]): Promise<EtcdGate> {
    const g = new EtcdGate()
    for (const [i, t] of targets.entries()) {
      const u = new URL(t)
      const mine = new Set<net.Socket>()
      g.sockets.push(mine)
      const server = net.createServer((inbound) => {
        const outbound = net.connect(Number(u.port), u.hostname)
        for (const s of [inbound, outbound]) {
          mine.add(s)
          s.on('error', () => {})
          s.on('close', () => {
            mine.delete(s)
            inbound.destroy()
            outbound.destroy()
          })
          if (g.blocked.has(i)) s.pause()
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

  /** Stop relaying on the given endpoints (all by default). */
  cut(which: number[] = this.servers.map((_, i) => i)): void {
    for (const i of which) {
      this.blocked.add(i)
      for (const s of this.sockets[i]!) s.pause()
    }
  }

  mend(): void {
    for (const i of this.blocked) for (const s of this.sockets[i]!) s.resume()
    this.blocked.clear()
  }

  async close(): Promise<void> {
    for (const set of this.sockets) for (const s of set) s.destroy()
    await Promise.all(this.servers.map((s) => new Promise((r) => s.close(r))))
  }
}
