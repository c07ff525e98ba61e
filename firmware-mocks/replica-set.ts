import { type ChildProcess, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { buildControlApi } from './control-api.js'
import { EtcdCluster } from './etcd-cluster.js'
import { readLab } from './lab-file.js'
import { Lab } from './lab.js'

// Replica mode as the replica tests (test/ha/) and the replica bench (bench/ha.bench.ts) run it:
// real `fencegate serve` processes over one lab, beside a real etcd cluster.

/** The fencer token every gateway started here accepts (a test/bench secret, nothing else). */
export const TOKEN = 'replica-test-token-fencer'
/** The operator token every gateway started here accepts. */
export const OPERATOR_TOKEN = 'replica-test-token-operator'
/** Every replica's keys live under it in etcd. */
export const ETCD_PREFIX = '/fencegate-test'

/** A token's entry in `auth.tokens` (the gateway's own hashing, src/api/auth.ts: below src, so spelled here). */
const sha256 = (token: string) => `sha256:${createHash('sha256').update(token, 'utf8').digest('hex')}`

export interface Replica {
  name: string
  url: string
  child: ChildProcess
  /** the last 20 kB of its stderr (its log) */
  log: () => string
  exited: Promise<unknown>
}

export interface ReplicaSetOptions {
  /** the compiled CLI (dist/src/cli/main.js of a build) */
  bin: string
  /** lab devices (readLab's `devices`) */
  devices: Record<string, Record<string, unknown>>
  /** the gateways' `nodes` section */
  nodes: Record<string, unknown>
  /** replicas started at once (default 3): r1, r2, … */
  count?: number
  /** `engine` settings over the defaults here (probes off, powerWait 10ms, fenceHold 10m, retries 0) */
  engine?: Record<string, unknown>
}

/**
 * Three `fencegate serve` processes over one lab of mock devices, coordinating through a real
 * three-member etcd cluster. Everything lives in one temp dir, removed by stop(), which also ends
 * every process started here (replicas and single gateways alike).
 */
export class ReplicaSet {
  readonly replicas: Replica[] = []
  /** Gateways without a coordination section (startSingle), for comparison. */
  private readonly singles: Replica[] = []
  private constructor(
    readonly dir: string,
    readonly etcd: EtcdCluster,
    readonly lab: Lab,
    readonly control: string,
    private readonly closeControl: () => Promise<void>,
    private readonly bin: string,
    private readonly nodes: Record<string, unknown>,
    private readonly engine: Record<string, unknown>,
  ) {}

  static async start(opts: ReplicaSetOptions): Promise<ReplicaSet> {
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
      const set = new ReplicaSet(
        dir,
        etcd,
        lab,
        control,
        () => app.close(),
        opts.bin,
        opts.nodes,
        opts.engine ?? {},
      )
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

  /** The config every gateway here runs: one journal each, the lab's devices, both tokens. */
  private config(name: string): Record<string, unknown> {
    return {
      listen: '127.0.0.1:0',
      journal: path.join(this.dir, `${name}.jsonl`),
      auth: {
        tokens: [
          { name: 'pacemaker', role: 'fencer', hash: sha256(TOKEN) },
          { name: 'ops', role: 'operator', hash: sha256(OPERATOR_TOKEN) },
        ],
      },
      engine: { probeInterval: 0, powerWait: '10ms', fenceHold: '10m', retries: 0, ...this.engine },
      devices: this.lab.driverSections(),
      nodes: this.nodes,
    }
  }

  /** Start (or restart) replica `name` on its own journal; resolves once it listens. */
  async startReplica(name: string): Promise<Replica> {
    const r = await this.serve(name, {
      ...this.config(name),
      coordination: {
        replica: name,
        etcd: { endpoints: this.etcd.endpoints, prefix: ETCD_PREFIX, leaseTtl: '2s' },
      },
    })
    const i = this.replicas.findIndex((x) => x.name === name)
    if (i >= 0) this.replicas[i] = r
    else this.replicas.push(r)
    await admitting(r.url)
    return r
  }

  /**
   * A single gateway (no coordination section) over the same lab and nodes, with the replicas'
   * engine settings: what replica mode is measured against. Ended by stop().
   */
  async startSingle(name: string): Promise<Replica> {
    const r = await this.serve(name, this.config(name))
    this.singles.push(r)
    return r
  }

  private async serve(name: string, config: Record<string, unknown>): Promise<Replica> {
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
      void exited.then(() => reject(new Error(`gateway ${name} exited before listening: ${out}\n${err}`)))
    })
    return { name, url, child, log: () => err, exited }
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
      [...this.replicas, ...this.singles].map(async (r) => {
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

/** POST/GET against a gateway with the fencer token (or `token`); the JSON answer and status. */
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

/**
 * Wait (bounded) until a replica that listens also holds a live lease (GET /v1/cluster answers 200,
 * its own state ok): on a loaded machine its first renewals can be starved and the lease lost right
 * after start; a new one follows, and tests should begin once it has.
 */
export async function admitting(url: string): Promise<void> {
  const until = Date.now() + 30_000
  for (;;) {
    const a = await call(url, 'GET', '/v1/cluster').catch((e: Error) => ({
      status: 0,
      body: { error: e.message },
    }))
    const self = (a.body as { self?: { state?: string } }).self
    if (a.status === 200 && self?.state === 'ok') return
    if (Date.now() > until)
      throw new Error(`replica at ${url} holds no live lease after 30 s: ${JSON.stringify(a.body)}`)
    await new Promise((res) => setTimeout(res, 100))
  }
}
