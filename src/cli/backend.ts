import type { NodeView } from '../api/views.js'
import type { FenceAction, NodeAction } from '../../core/types.js'
import type { DeviceHealth, HistoryEntry, HistoryQuery, Operation } from '../engine/types.js'

export interface RunOptions {
  /** The operation's deadline in seconds (the API's `timeout`). */
  timeoutS?: number
  /** Called as nodes finish (backends whose `counts` is true). */
  progress?: (done: number, total: number) => void
  signal: AbortSignal
}

/**
 * Where the commands' work happens: a running gateway over REST, or an engine started in this
 * process from a config file. Commands are written once against this.
 */
export interface Backend {
  /** For messages: the URL or the config file. */
  readonly where: string
  /** Does `progress` get a count of finished nodes as they finish? */
  readonly counts: boolean
  nodes(
    targets: string | undefined,
    refresh: boolean,
    signal: AbortSignal,
  ): Promise<{ simulated: boolean; nodes: NodeView[] }>
  power(
    nodes: string[],
    targets: string,
    action: NodeAction,
    opts: RunOptions,
  ): Promise<{ simulated: boolean; operation: Operation }>
  fence(
    node: string,
    action: FenceAction | undefined,
    opts: RunOptions,
  ): Promise<{ simulated: boolean; operation: Operation }>
  /** A person confirms a node off by hand (meatware). */
  confirm(
    node: string,
    reason: string,
    opts: RunOptions,
  ): Promise<{ simulated: boolean; operation: Operation }>
  /** `warning`: replica mode, etcd unreadable: the entries are the asked replica's own only. */
  history(
    q: HistoryQuery,
    signal: AbortSignal,
  ): Promise<{ simulated: boolean; entries: HistoryEntry[]; warning?: string }>
  devices(signal: AbortSignal): Promise<{ simulated: boolean; devices: DeviceHealth[] }>
  close(): Promise<void>
}
