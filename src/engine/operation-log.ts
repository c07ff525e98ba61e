import { randomUUID } from 'node:crypto'
import type { Initiator } from '../../core/types.js'
import { untilAborted } from '../../core/deadline.js'
import type { Journal } from '../audit/journal.js'
import type { Coordinator } from '../coordination/coordinator.js'
import type { Logger } from './engine.js'
import type { NodeResult, Operation, OperationAction, OperationKind } from './types.js'

/** Operations kept in memory by id (older ones are read from the journal's history). */
const MAX_OPS = 1000

/**
 * An operation's record, apart from the work itself: made and remembered by id, its intent made
 * durable (the journal, then in replica mode the coordinator) before any device is touched
 * (rule 8), each node's result written as it comes, and its end: status, log lines, observers,
 * and the result handed to the coordinator. The engine decides what runs; this says what ran.
 */
export class OperationLog {
  private readonly ops = new Map<string, Operation>()
  /** Intents sent to the coordinator and not settled yet: an operation's result goes after its intent. */
  private readonly intents = new Map<string, Promise<void>>()

  constructor(
    private readonly journal: Journal,
    private readonly coordinator: Coordinator,
    private readonly log: Logger,
    private readonly simulated: boolean,
    /** Told every finished operation (the engine's observers and events). */
    private readonly onFinish: (op: Operation) => void,
  ) {}

  /** A new running operation, remembered at once (a joiner or a status may ask for it). */
  create(kind: OperationKind, action: OperationAction, nodes: string[], initiator: Initiator): Operation {
    const op: Operation = {
      id: randomUUID(),
      kind,
      action,
      nodes,
      initiator,
      startedAt: new Date().toISOString(),
      status: 'running',
      results: [],
      simulated: this.simulated,
    }
    this.ops.set(op.id, op)
    if (this.ops.size > MAX_OPS) this.ops.delete(this.ops.keys().next().value!)
    return op
  }

  get(id: string): Operation | undefined {
    return this.ops.get(id)
  }

  /**
   * Rule 8: the intent on disk (fsynced), and in replica mode in etcd, before any device is touched.
   * `signal` (the caller's deadline) ends the wait for etcd: the operation then fails with nothing
   * touched, and its result is recorded once the intent has settled (never before it).
   */
  async intent(op: Operation, journaled?: () => void, signal?: AbortSignal): Promise<void> {
    await this.journal.append(
      {
        t: 'intent',
        op: op.id,
        ts: op.startedAt,
        kind: op.kind,
        action: op.action,
        nodes: op.nodes,
        initiator: op.initiator,
      },
      true,
    )
    // the intent is on disk: a failure from here on must still pair it with results (the caller's)
    journaled?.()
    // replica mode: and in etcd, so any replica answers for it (and sees it orphaned if this one dies)
    const sent = this.coordinator.recordIntent(op)
    const settled = sent.then(
      () => {},
      () => {},
    )
    this.intents.set(op.id, settled)
    void settled.then(() => {
      if (this.intents.get(op.id) === settled) this.intents.delete(op.id)
    })
    await (signal ? untilAborted(sent, signal) : sent)
  }

  /** One node's result, written as it comes; a journal that fails is logged, the answer still given. */
  async result(op: Operation, result: NodeResult): Promise<void> {
    await this.journal
      .append(
        {
          t: 'result',
          op: op.id,
          ts: new Date().toISOString(),
          node: result.node,
          outcome: result.outcome,
          ...(result.level !== undefined ? { level: result.level } : {}),
          ...(result.onVerified !== undefined ? { onVerified: result.onVerified } : {}),
          ...(result.onError ? { onError: result.onError } : {}),
          ...(result.confirmation ? { confirmation: result.confirmation } : {}),
          ...(result.error ? { error: result.error } : {}),
        },
        true,
      )
      .catch((e) => this.log.error({ op: op.id, err: (e as Error).message }, 'journal result write failed'))
  }

  /** The end: status and finish time set, each node's outcome logged, observers told. */
  finish(op: Operation): Operation {
    op.status = op.results.some((r) => r.outcome === 'failed') ? 'failed' : 'succeeded'
    op.finishedAt = new Date().toISOString()
    for (const r of op.results) {
      const fields = {
        op: op.id,
        node: r.node,
        action: op.action,
        kind: op.kind,
        outcome: r.outcome,
        level: r.level,
        by: op.initiator.name,
      }
      if (r.outcome === 'success') this.log.info(fields, `${op.kind} ${op.action} ${r.node}: success`)
      else this.log.warn({ ...fields, error: r.error }, `${op.kind} ${op.action} ${r.node}: failed`)
      if (r.onVerified === false)
        this.log.warn(
          { ...fields, onError: r.onError },
          `${r.node}: power-on after ${op.action} not verified`,
        )
    }
    this.onFinish(op)
    return op
  }

  /**
   * In replica mode the result goes to etcd too (a no-op for an intent that never got there),
   * after the intent's own write has settled: a result sent first would find no intent to close,
   * and the intent landing after it would leave the operation running in etcd.
   */
  async recordResult(op: Operation): Promise<void> {
    await this.intents.get(op.id)
    return this.coordinator.recordResult(op)
  }
}
