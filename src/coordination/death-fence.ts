import type { IOperation, Namespace } from 'etcd3'
import { monotonicNow, sleep } from '../../core/deadline.js'
import { FenceError } from '../../core/errors.js'
import type { Operation } from '../engine/types.js'
import type { OperationRecord } from './coordinator.js'
import type { Death, DeathOutcome, DeathRunner } from './death.js'
import { CALL_MS, tries } from './etcd-client.js'

/**
 * Heartbeat fencing with replicas: each death is fenced by one replica, whichever replicas hear it.
 *
 * Keys (under the replicas' prefix; `<node>` URI-encoded):
 *   deaths/<node>/<gen>              the death record (JSON DeathRecord), kept a day (retention lease)
 *   deaths/<node>/<gen>/runner       `{replica, round}` of the replica running the current round,
 *                                    bound to *its* lease: gone when that replica dies
 *   deaths/<node>/<gen>/seen/<name>  `{canRun}`: replica <name> waits for this death now (its lease)
 *
 * Rules (every one is a transaction or a read; nothing relies on timing to be safe):
 * 1. A *round* is one run of the fence. A replica claims a round by one transaction: the record is
 *    unchanged since it read it (mod revision, or absent) and no runner key exists (or the runner
 *    key is this replica's own from a call no longer running here) → record `{round+1, running,
 *    replica}` and the runner key with its lease. So at most one replica runs each round.
 * 2. Who claims: only a replica that reaches the devices (`canRun`) and whose lease is alive; the
 *    leader (election.ts's oldest candidate) at once; any other once it has waited `leaderWaitMs`
 *    since its call began (at most half the fence deadline), or at once when the leader said it
 *    cannot run (its seen key). The
 *    leader is preferred, never required: a leader that never hears the death, cannot reach the
 *    devices or is dead delays the fence by at most `leaderWaitMs`.
 * 3. A round can be claimed when there is none yet, when the last one ended but does not answer
 *    this call (rule 5), or when its runner key is gone while it runs: its replica's lease expired
 *    mid-fence. Its device calls were aborted before that (the coordinator stops driving devices
 *    ttl/4 before etcd can expire its lease, as for device locks), so running the fence again is
 *    safe — fencing is idempotent: the engine reads the state first, and joins a fence of the node
 *    still running on a live replica (rule 7 across replicas).
 * 4. The runner writes the round's end (`done`, its operation id, ok) only while its runner key is
 *    still its own (compare value): a replica whose lease lapsed mid-fence never writes over the
 *    round that replaced it. It then deletes the runner key.
 * 5. A waiter's answer: the first `done` round that is not older than its call — a round running
 *    when it called, or one claimed since. A round that had already failed when it called does
 *    not answer it (the call is a retry: it starts a new round); nor does a success that ended more
 *    than the fence deadline before the call (a stale record of an earlier life of the same
 *    node and generation — a heartbeat 3 peer whose state file was lost restarts its count): that
 *    is fenced again. Wall clocks of replicas are compared here: keep them in sync (NTP).
 * 6. ok only when the running replica's own operation record (ops/<id>) says succeeded — the
 *    fence read the node back off. A round without an operation, a failed one, an orphan, or an
 *    operation still running at the waiter's deadline is not ok.
 * 7. Waiters wait the fence deadline and TAIL_MS more (the runner's deadline counts from its own
 *    call, and its record takes a round trip). Past it: not ok, saying whether a replica was still
 *    running it; the heartbeat retries, and the retry joins the same round if it still runs.
 * 8. On one replica, a second call for a death already being handled there joins the first.
 */
export interface DeathFenceContext {
  ns: Namespace
  replica: string
  /** This replica's lease id while the lease counts as alive; undefined: it neither claims nor runs. */
  lease(): string | undefined
  /** The retention lease (records are kept a day). */
  keep(): Promise<string>
  isLeader(): Promise<boolean>
  leader(): Promise<string | undefined>
  awaitOperation(id: string, signal: AbortSignal): Promise<OperationRecord>
  /** How long a replica that is not the leader leaves a claimable death to the leader. */
  leaderWaitMs: number
  log: { warn(obj: object, msg?: string): void; info(obj: object, msg?: string): void }
}

/** The death record, deaths/<node>/<gen>. */
export interface DeathRecord {
  node: string
  generation: number
  action: string
  round: number
  state: 'running' | 'done'
  /** The replica that claimed the round. */
  replica: string
  /** Its operation, once the intent is durable. */
  op?: string
  /** done: the runner's own verdict (its operation succeeded). Waiters check the operation too. */
  ok?: boolean
  error?: string
  /** Wall clock (epoch ms). */
  claimedAt: number
  endedAt?: number
}

const POLL_MS = 50
const TAIL_MS = 2000

function keysOf(d: Death) {
  const base = `deaths/${encodeURIComponent(d.node)}/${d.generation}`
  return {
    record: base,
    runner: `${base}/runner`,
    seen: (replica: string) => `${base}/seen/${replica}`,
  }
}
type Keys = ReturnType<typeof keysOf>

function checkDeath(d: Death): void {
  if (typeof d.node !== 'string' || !d.node)
    throw new FenceError('BAD_REQUEST', 'death.node: a node name is required')
  if (!Number.isSafeInteger(d.generation) || d.generation < 0)
    throw new FenceError(
      'BAD_REQUEST',
      `death.generation: a non-negative integer, got ${String(d.generation)}`,
    )
  if (!Number.isFinite(d.timeoutMs) || d.timeoutMs <= 0)
    throw new FenceError(
      'BAD_REQUEST',
      `death.timeoutMs: a positive number of ms, got ${String(d.timeoutMs)}`,
    )
}

// the claims (transactions whose second run would read as lost) are sent once; reads go through tries()
const opts = () => ({ deadline: new Date(Date.now() + CALL_MS) })

/** One per coordinator: joins local calls for the same death (rule 8). */
export class DeathFences {
  private readonly local = new Map<string, Promise<DeathOutcome>>()

  constructor(private readonly ctx: DeathFenceContext) {}

  fence(death: Death, runner: DeathRunner): Promise<DeathOutcome> {
    try {
      checkDeath(death)
    } catch (e) {
      return Promise.reject(e)
    }
    const k = keysOf(death).record
    const had = this.local.get(k)
    if (had) return had
    const p = fenceDeath(this.ctx, death, runner, (v) => this.isStaleOwn(v)).finally(() =>
      this.local.delete(k),
    )
    this.local.set(k, p)
    return p
  }

  /** A runner key naming this replica while no call for it runs here: left by a call that could not clean up. */
  private isStaleOwn(runner: { replica: string }): boolean {
    return runner.replica === this.ctx.replica
  }
}

interface Read {
  rec: DeathRecord | undefined
  rev: string | undefined
  runner: string | undefined
}

async function read(ctx: DeathFenceContext, keys: Keys): Promise<Read> {
  const [r, run] = await Promise.all([
    tries((o) => ctx.ns.get(keys.record).options(o).exec()),
    tries((o) => ctx.ns.get(keys.runner).options(o).string()),
  ])
  const kv = r.kvs[0]
  return {
    rec: kv ? (JSON.parse(kv.value.toString()) as DeathRecord) : undefined,
    rev: kv?.mod_revision,
    runner: run ?? undefined,
  }
}

/**
 * The first read decides which rounds answer this call (rule 5): the round running now (or the
 * next one), never one that ended in failure before the call, nor a success older than the deadline.
 */
function firstAnswering(rec: DeathRecord | undefined, wall0: number, timeoutMs: number): number {
  if (!rec) return 1
  if (rec.state === 'running') return rec.round
  const fresh = rec.ok === true && rec.endedAt !== undefined && wall0 - rec.endedAt <= timeoutMs
  return fresh ? rec.round : rec.round + 1
}

async function fenceDeath(
  ctx: DeathFenceContext,
  death: Death,
  runner: DeathRunner,
  staleOwn: (v: { replica: string }) => boolean,
): Promise<DeathOutcome> {
  const keys = keysOf(death)
  const t0 = monotonicNow()
  const wall0 = Date.now()
  const until = t0 + death.timeoutMs
  const waitSignal = AbortSignal.timeout(death.timeoutMs + TAIL_MS)
  let minRound: number | undefined
  let last: DeathRecord | undefined
  let lastError = ''
  const said = JSON.stringify({ canRun: death.canRun })
  const lease = ctx.lease()
  if (lease)
    await tries((o) => ctx.ns.put(keys.seen(ctx.replica)).value(said).lease(lease).options(o)).catch(() => {})
  try {
    while (!waitSignal.aborted) {
      try {
        const { rec, rev, runner: running } = await read(ctx, keys)
        if (rec) last = rec
        minRound ??= firstAnswering(rec, wall0, death.timeoutMs)
        if (rec?.state === 'done' && rec.round >= minRound) return await answer(ctx, death, rec, waitSignal)
        // a round runs elsewhere while its runner key is another replica's (rule 3: gone = died)
        const claimable = running === undefined || staleOwn(JSON.parse(running))
        if (
          claimable &&
          death.canRun &&
          monotonicNow() < until &&
          ctx.lease() &&
          (await eligible(ctx, keys, t0, death))
        ) {
          const round = (rec?.round ?? 0) + 1
          const lease2 = ctx.lease()
          if (lease2 && (await claim(ctx, keys, death, rec, rev, running, round, lease2)))
            return await run(ctx, keys, death, round, runner, until)
          continue
        }
      } catch (e) {
        lastError = (e as Error).message
      }
      await sleep(POLL_MS, waitSignal).catch(() => {})
    }
  } finally {
    void tries((o) => ctx.ns.delete().key(keys.seen(ctx.replica)).options(o)).catch(() => {})
  }
  const who = last?.state === 'running' ? last.replica : undefined
  return {
    ranHere: false,
    ok: false,
    ...(who ? { replica: who } : {}),
    ...(who && last?.op ? { op: last.op } : {}),
    error: who
      ? `the fence of ${death.node} on replica ${who}${last?.op ? ` (${last.op})` : ''} had not ended by our deadline; it goes on`
      : `no replica fenced ${death.node} (generation ${death.generation}) by the deadline${lastError ? ` (etcd: ${lastError})` : ''}`,
  }
}

/** Rule 2: the leader at once; another replica after leaderWaitMs (at most half the deadline), or when the leader cannot run it. */
async function eligible(ctx: DeathFenceContext, keys: Keys, t0: number, death: Death): Promise<boolean> {
  if (await ctx.isLeader()) return true
  // never so long that the deadline runs out before anyone else may claim
  if (monotonicNow() - t0 >= Math.min(ctx.leaderWaitMs, death.timeoutMs / 2)) return true
  const leader = await ctx.leader()
  if (!leader) return true
  const said = await tries((o) => ctx.ns.get(keys.seen(leader)).options(o).string())
  return said !== null && (JSON.parse(said) as { canRun: boolean }).canRun === false
}

/** Rule 1: take the next round, or learn that someone else moved first. */
/** The record of round `round` of `death`, run by this replica from now. */
function runningRound(ctx: DeathFenceContext, death: Death, round: number): DeathRecord {
  return {
    node: death.node,
    generation: death.generation,
    action: death.action,
    round,
    state: 'running',
    replica: ctx.replica,
    claimedAt: Date.now(),
  }
}

async function claim(
  ctx: DeathFenceContext,
  keys: Keys,
  death: Death,
  rec: DeathRecord | undefined,
  rev: string | undefined,
  running: string | undefined,
  round: number,
  lease: string,
): Promise<boolean> {
  const next = runningRound(ctx, death, round)
  const keep = await ctx.keep()
  const first =
    rec && rev ? ctx.ns.if(keys.record, 'Mod', '==', rev) : ctx.ns.if(keys.record, 'Create', '==', 0)
  const txn =
    running !== undefined
      ? first.and(keys.runner, 'Value', '==', running)
      : first.and(keys.runner, 'Create', '==', 0)
  const r = await txn
    .then(
      ctx.ns.put(keys.record).value(JSON.stringify(next)).lease(keep),
      ctx.ns
        .put(keys.runner)
        .value(JSON.stringify({ replica: ctx.replica, round }))
        .lease(lease),
    )
    .options(opts())
    .commit()
  if (r.succeeded)
    ctx.log.info(
      { node: death.node, generation: death.generation, round, after: rec?.replica },
      rec && rec.state === 'running'
        ? `death of ${death.node}: replica ${rec.replica} died mid-fence; this replica runs it again`
        : `death of ${death.node}: this replica runs the fence`,
    )
  return r.succeeded
}

/** Run the claimed round here and record its end (rule 4). */
async function run(
  ctx: DeathFenceContext,
  keys: Keys,
  death: Death,
  round: number,
  runner: DeathRunner,
  until: number,
): Promise<DeathOutcome> {
  const mine = JSON.stringify({ replica: ctx.replica, round })
  const base = runningRound(ctx, death, round)
  const write = async (rec: DeathRecord, end: boolean) => {
    const keep = await ctx.keep()
    const ops: IOperation[] = [ctx.ns.put(keys.record).value(JSON.stringify(rec)).lease(keep)]
    if (end) ops.push(ctx.ns.delete().key(keys.runner))
    return ctx.ns
      .if(keys.runner, 'Value', '==', mine)
      .then(...ops)
      .options(opts())
      .commit()
  }
  let op: Operation | undefined
  let error: string | undefined
  try {
    op = await runner(Math.max(1, until - monotonicNow()), (o) => {
      // the id, for waiters to name (best effort: the end record carries it anyway)
      void write({ ...base, op: o.id }, false).catch(() => {})
    })
  } catch (e) {
    error = (e as Error).message
  }
  const ok = op?.status === 'succeeded'
  if (!ok) error ??= describeFailure(op)
  const end: DeathRecord = {
    ...base,
    state: 'done',
    ok,
    ...(op ? { op: op.id } : {}),
    ...(error ? { error } : {}),
    endedAt: Date.now(),
  }
  for (let i = 0; ; i++) {
    try {
      const r = await write(end, true)
      if (!r.succeeded)
        ctx.log.warn(
          { node: death.node, generation: death.generation, round, op: op?.id },
          'death fence: this replica lost its claim mid-fence (lease lapsed); another replica runs it again',
        )
      break
    } catch (e) {
      if (i >= 4) {
        // the runner key stays until our lease goes, or a later call of ours takes it over (rule 1)
        ctx.log.warn(
          { node: death.node, err: (e as Error).message },
          'death fence: the end could not be recorded',
        )
        break
      }
      await sleep(250)
    }
  }
  return {
    ranHere: true,
    ok,
    replica: ctx.replica,
    ...(op ? { op: op.id, operation: op } : {}),
    ...(error ? { error } : {}),
  }
}

/** Rule 6: a done round's answer, ok only if its operation's own record says succeeded. */
async function answer(
  ctx: DeathFenceContext,
  death: Death,
  rec: DeathRecord,
  signal: AbortSignal,
): Promise<DeathOutcome> {
  const base = { ranHere: false, replica: rec.replica, ...(rec.op ? { op: rec.op } : {}) }
  if (!rec.ok || !rec.op)
    return {
      ...base,
      ok: false,
      error: rec.error ?? `the fence of ${death.node} on replica ${rec.replica} failed`,
    }
  try {
    const r = await ctx.awaitOperation(rec.op, signal)
    if (!r.orphaned && r.op.status === 'succeeded') return { ...base, ok: true }
    return {
      ...base,
      ok: false,
      error: r.orphaned
        ? `outcome unknown: replica ${r.replica} died during ${rec.op}`
        : describeFailure(r.op),
    }
  } catch (e) {
    return {
      ...base,
      ok: false,
      error: `operation ${rec.op} could not be read back: ${(e as Error).message}`,
    }
  }
}

function describeFailure(op: Operation | undefined): string {
  if (!op) return 'no operation was created'
  const r = op.results[0]
  return r?.error ? `${r.error.code}: ${r.error.message}` : `operation ${op.id} ${op.status}`
}
