import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'

// The real etcd that replica-mode tests and benches run beside the lab's mocks: a peer, not a mock.

/**
 * `count` distinct free loopback TCP ports. All listeners stay open until every port is known:
 * ports picked one at a time (bind, release, bind again) can come back twice, and etcd refuses
 * an initial cluster with a duplicate URL.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = []
  try {
    for (let i = 0; i < count; i++) {
      const s = net.createServer()
      servers.push(s)
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject)
        s.listen(0, '127.0.0.1', () => resolve())
      })
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port)
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
  }
}

interface Member {
  name: string
  client: number
  peer: number
  dataDir: string
  proc?: ChildProcess
  log: string
}

/**
 * A three-member etcd cluster of Debian's etcd-server on loopback ports, data in a temp dir:
 * started by the test, stopped (and its directory removed) by `stop()` — call it in afterAll.
 * Members can be stopped and started again (quorum loss and return).
 */
export class EtcdCluster {
  private constructor(
    readonly dir: string,
    private readonly members: Member[],
  ) {}

  get endpoints(): string[] {
    return this.members.map((m) => `http://127.0.0.1:${m.client}`)
  }

  /** The running members' process ids (a bench reads their CPU time). */
  get pids(): number[] {
    return this.members.flatMap((m) => (m.proc?.pid !== undefined ? [m.proc.pid] : []))
  }

  static async start(size = 3): Promise<EtcdCluster> {
    const dir = mkdtempSync(path.join(tmpdir(), 'fencegate-etcd-'))
    const ports = await freePorts(2 * size)
    const members: Member[] = []
    for (let i = 0; i < size; i++)
      members.push({
        name: `e${i}`,
        client: ports[2 * i]!,
        peer: ports[2 * i + 1]!,
        dataDir: path.join(dir, `e${i}`),
        log: '',
      })
    const c = new EtcdCluster(dir, members)
    try {
      for (let i = 0; i < size; i++) c.spawn(i)
      await c.waitHealthy(20_000)
    } catch (e) {
      await c.stop()
      throw e
    }
    return c
  }

  private spawn(i: number): void {
    const m = this.members[i]!
    const initial = this.members.map((x) => `${x.name}=http://127.0.0.1:${x.peer}`).join(',')
    const proc = spawn(
      'etcd',
      [
        '--name',
        m.name,
        '--data-dir',
        m.dataDir,
        '--listen-client-urls',
        `http://127.0.0.1:${m.client}`,
        '--advertise-client-urls',
        `http://127.0.0.1:${m.client}`,
        '--listen-peer-urls',
        `http://127.0.0.1:${m.peer}`,
        '--initial-advertise-peer-urls',
        `http://127.0.0.1:${m.peer}`,
        '--initial-cluster',
        initial,
        '--initial-cluster-state',
        'new',
        '--initial-cluster-token',
        path.basename(this.dir),
        '--heartbeat-interval',
        '100',
        '--election-timeout',
        '1000',
        '--log-level',
        'warn',
        '--logger',
        'zap',
      ],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, ETCD_UNSUPPORTED_ARCH: process.env.ETCD_UNSUPPORTED_ARCH ?? '' },
      },
    )
    m.log = ''
    proc.stderr!.on('data', (c) => {
      m.log = (m.log + c).slice(-4000)
    })
    m.proc = proc
  }

  /** Every running member answers /health with true. */
  async waitHealthy(timeoutMs: number, which = this.members.map((_, i) => i)): Promise<void> {
    const until = Date.now() + timeoutMs
    for (;;) {
      const ok = await Promise.all(
        which.map((i) =>
          fetch(`http://127.0.0.1:${this.members[i]!.client}/health`, { signal: AbortSignal.timeout(1000) })
            .then(async (r) => ((await r.json()) as { health?: string }).health === 'true')
            .catch(() => false),
        ),
      )
      if (ok.every(Boolean)) return
      if (Date.now() > until)
        throw new Error(
          `etcd cluster not healthy in ${timeoutMs}ms:\n${this.members.map((m) => `${m.name}: ${m.log}`).join('\n')}`,
        )
      await new Promise((r) => setTimeout(r, 200))
    }
  }

  /** Stop member i (SIGTERM, then wait for it). */
  async stopMember(i: number): Promise<void> {
    const p = this.members[i]!.proc
    if (!p || p.exitCode !== null || p.signalCode !== null) return
    const gone = new Promise<void>((r) => p.once('exit', () => r()))
    p.kill('SIGTERM')
    const t = setTimeout(() => p.kill('SIGKILL'), 5000)
    await gone
    clearTimeout(t)
    this.members[i]!.proc = undefined
  }

  /** Start member i again on its data dir (it rejoins the cluster). */
  startMember(i: number): void {
    const m = this.members[i]!
    if (m.proc) return
    this.spawn(i)
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.members.map((_, i) => this.stopMember(i)))
    rmSync(this.dir, { recursive: true, force: true })
  }
}
