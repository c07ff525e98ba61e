import { nodeView } from '../api/views.js'
import type { GatewayConfig } from '../config/config.js'
import { FenceError } from '../../core/errors.js'
import { expandHostlist } from '../../core/hostlist.js'
import type { FenceAction, Initiator, NodeAction } from '../../core/types.js'
import type { Engine } from '../engine/engine.js'
import type { HistoryQuery, OperationRequest } from '../engine/types.js'
import type { Backend, RunOptions } from './backend.js'

/** Whoever runs the CLI with the config file in hand is trusted as the gateway itself is. */
const INITIATOR: Initiator = { name: 'cli', role: 'fencer', via: 'cli' }

/**
 * `--config FILE`: the engine runs in this process (its FenceErrors become one-line CLI errors in
 * withBackend, as every backend's do), no gateway needed (it takes the journal's
 * lock, so it refuses to run beside a gateway on the same journal).
 */
export class LocalBackend implements Backend {
  readonly counts = true

  private constructor(
    readonly where: string,
    private readonly engine: Engine,
  ) {}

  static async open(file: string): Promise<LocalBackend> {
    const [{ loadConfig }, { Engine }] = await Promise.all([
      import('../config/config.js'),
      import('../engine/engine.js'),
    ])
    const config: GatewayConfig = loadConfig(file)
    // one command, then exit: no background probes hitting the devices
    config.engine.probeIntervalMs = 0
    return new LocalBackend(file, await Engine.create(config))
  }

  private req(
    opts: { timeoutS?: number; signal: AbortSignal },
    progress?: RunOptions['progress'],
  ): OperationRequest {
    return {
      initiator: INITIATOR,
      signal: opts.signal,
      ...(opts.timeoutS !== undefined ? { timeoutMs: opts.timeoutS * 1000 } : {}),
      ...(progress ? { onProgress: (done: number, total: number) => progress(done, total) } : {}),
    }
  }

  private names(targets: string | undefined): string[] {
    if (targets === undefined) return this.engine.nodes().map((n) => n.name)
    const names = expandHostlist(targets)
    const unknown = names.filter((n) => !this.engine.config.nodes.has(n))
    if (unknown.length) throw new FenceError('UNKNOWN_NODE', `no node ${unknown.join(', ')} in ${this.where}`)
    return names
  }

  async nodes(targets: string | undefined, _refresh: boolean, signal: AbortSignal) {
    // a fresh engine has nothing cached: in-process, listing always reads the devices
    const names = this.names(targets)
    const states = await this.engine.status(names, this.req({ signal }))
    return {
      simulated: this.engine.simulated,
      nodes: states.map((s) => nodeView(this.engine.node(s.node), s)),
    }
  }

  async power(nodes: string[], _targets: string, action: NodeAction, opts: RunOptions) {
    this.names(nodes.join(','))
    const req = this.req(opts, opts.progress)
    const operation = await (nodes.length === 1
      ? this.engine.power(nodes[0]!, action, req)
      : this.engine.bulk(nodes, action, req))
    return { simulated: this.engine.simulated, operation }
  }

  async fence(node: string, action: FenceAction | undefined, opts: RunOptions) {
    const operation = await this.engine.fence(node, action, this.req(opts))
    return { simulated: this.engine.simulated, operation }
  }

  async confirm(node: string, reason: string, opts: RunOptions) {
    const operation = await this.engine.confirm(node, { ...this.req(opts), reason })
    return { simulated: this.engine.simulated, operation }
  }

  async history(q: HistoryQuery, _signal: AbortSignal) {
    return { simulated: this.engine.simulated, entries: await this.engine.history(q) }
  }

  async devices(signal: AbortSignal) {
    // probes are off in-process: probe now so the listing says something true
    const devices = await Promise.all(
      this.engine
        .devices()
        .map((d) => this.engine.probe(d.id, this.req({ signal })).catch(() => this.engine.device(d.id))),
    )
    return { simulated: this.engine.simulated, devices }
  }

  close(): Promise<void> {
    return this.engine.close()
  }
}
