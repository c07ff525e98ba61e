import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { buildControlApi } from '../../firmware-mocks/control-api.js'
import { readLab } from '../../firmware-mocks/lab-file.js'
import { Lab } from '../../firmware-mocks/lab.js'
import { hashToken } from '../../src/api/auth.js'
import { fencegateBin } from '../e2e/demo-bin.js'
import { EtcdCluster } from '../../firmware-mocks/etcd-cluster.js'

export const TOKEN = 'replica-test-token-fencer'
export const OPERATOR_TOKEN = 'replica-test-token-operator'

export interface Replica {
  name: string
  url: string
  child: ChildProcess
  log: () => string
  exited: Promise<unknown>
}

/**
 * Three `fencegate serve` processes over one lab of mock devices, coordinating through a real
 * three-member etcd cluster. Everything lives in one temp dir, removed by stop().
 */
export class ReplicaSet {
  readonly replicas: Replica[] = []
  private constructor(
    readonly dir: string,
    readonly etcd: EtcdCluster,
    readonly lab: Lab,
    readonly control: string,
    private readonly closeControl: () => Promise<void>,
    private readonly bin: string,
    private readonly nodes: Record<string, unknown>,
  ) {}

  static async start(opts: {
    devices: Record<string, Record<string, unknown>>
    nodes: Record<string, unknown>
    count?: number
  }): Promise<ReplicaSet> {
    const bin = await fencegateBin()
    const dir = mkdtempSync(path.join(tmpdir(), 'fencegate-ha-'))
    let etcd: EtcdCluster | undefined
    let lab: Lab | undefined
    try {
      etcd = await EtcdCluster.start()
      const { lab: spec, problems } = readLab({ devices: opts.devices })
      if (problems.length) throw new Error(`lab: ${JSON.stringify(problems)}`)
      lab = await Lab.start(spec)
      const app = buildControlApi(lab)
      const control = await app.listen({ host: '127.0.0.1', port: 0 })
      const set = new ReplicaSet(dir, etcd, lab, control, () => app.close(), bin, opts.nodes)
      try {
        await Promise.all(Array.from({ length: opts.count ?? 3 }, (_, i) => set.startReplica(`r${i + 1}`)))
      } catch (e) {
        await set.stop()
        throw e
      }
      return set
    } catch (e) {
      await lab?.stop()
      await etcd?.stop()
      rmSync(dir, { recursive: true, force: true })
      throw e
    }
  }

  /** Start (or restart) replica `name` on its own journal; resolves once it listens. */
  async startReplica(name: string): Promise<Replica> {
    const config = {
      listen: '127.0.0.1:0',
      journal: path.join(this.dir, `${name}.jsonl`),
      auth: {
        tokens: [
          { name: 'pacemaker', role: 'fencer', hash: `sha256:${hashToken(TOKEN).toString('hex')}` },
          { name: 'ops', role: 'operator', hash: `sha256:${hashToken(OPERATOR_TOKEN).toString('hex')}` },
        ],
      },
      engine: { probeInterval: 0, powerWait: '10ms', fenceHold: '10m', retries: 0 },
      devices: this.lab.driverSections(),
      nodes: this.nodes,
      coordination: {
        replica: name,
        etcd: { endpoints: this.etcd.endpoints, prefix: '/fencegate-test', leaseTtl: '2s' },
      },
    }
    const file = path.join(this.dir, `${name}.yaml`)
    writeFileSync(file, JSON.stringify(config), { mode: 0o600 })
    const child = spawn(process.execPath, [this.bin, 'serve', '--config', file, '--log-level', 'info'], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: this.dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stderr!.on('data', (d) => {
      err = (err + d).slice(-20_000)
    })
    const exited = new Promise((r) => child.on('close', r))
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', (d) => {
        out += d
        const m = /(http:\/\/127\.0\.0\.1:\d+)/.exec(out)
        if (m) resolve(m[1]!)
      })
      void exited.then(() => reject(new Error(`replica ${name} exited before listening: ${out}\n${err}`)))
    })
    const r: Replica = { name, url, child, log: () => err, exited }
    const i = this.replicas.findIndex((x) => x.name === name)
    if (i >= 0) this.replicas[i] = r
    else this.replicas.push(r)
    return r
  }

  replica(name: string): Replica {
    return this.replicas.find((r) => r.name === name)!
  }

  async sessions(
    device: string,
  ): Promise<{ open: number; maxOpen: number; overlaps: number; total: number }> {
    const r = await fetch(`${this.control}/devices/${device}`)
    return (
      (await r.json()) as { sessions: { open: number; maxOpen: number; overlaps: number; total: number } }
    ).sessions
  }

  async stop(): Promise<void> {
    await Promise.allSettled(
      this.replicas.map(async (r) => {
        if (r.child.exitCode !== null || r.child.signalCode !== null) return
        r.child.kill('SIGKILL')
        await r.exited
      }),
    )
    await this.closeControl().catch(() => {})
    await this.lab.stop()
    await this.etcd.stop()
    rmSync(this.dir, { recursive: true, force: true })
  }
}

/** POST/GET against a replica with the test's token; the JSON answer and status. */
export async function call(
  url: string,
  method: 'GET' | 'POST',
  route: string,
  body?: unknown,
  token = TOKEN,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`${url}${route}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(60_000),
  })
  return { status: r.status, body: (await r.json()) as Record<string, unknown> }
}
