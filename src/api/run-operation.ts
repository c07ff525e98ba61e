/**
 * How a mutating POST runs its operation: wait for it (200) or answer as soon as it exists
 * (`?wait=false`, 202), honour an Idempotency-Key, and stop issuing steps when a waiting
 * caller goes away (design rule 6) — unless it sent an Idempotency-Key, which says it will
 * come back for the result.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { FenceError } from '../../core/errors.js'
import type { FenceEngine, Operation, OperationRequest } from '../engine/types.js'
import { principal } from './auth.js'
import { abortOnClose } from './disconnect.js'
import { fieldError } from './errors.js'
import type { IdempotencyStore, IdempotentEntry } from './idempotency.js'
import type { Budget, InFlight } from './inflight.js'

export interface RunDeps {
  simulated: boolean
  idempotency: IdempotencyStore
  inflight: InFlight
  /** Replica mode: Idempotency-Keys are honoured across replicas through it. */
  engine?: Pick<FenceEngine, 'coordinator'>
}

/** How often a replayed key's operation on another replica is looked at again. */
const REPLAY_POLL_MS = 100

/** What an operation counts against in the token's in-flight bounds (src/api/inflight.ts). */
export interface RunScope {
  budget: Budget
  nodes: readonly string[]
}

type Start = (r: OperationRequest) => Promise<Operation>

export async function runOperation(
  req: FastifyRequest,
  reply: FastifyReply,
  deps: RunDeps,
  timeoutS: number | undefined,
  scope: RunScope,
  start: Start,
): Promise<{ simulated: boolean; operation: Operation }> {
  const who = principal(req)
  const wait = (req.query as { wait?: string }).wait !== 'false'
  const key = req.headers['idempotency-key']
  if (Array.isArray(key))
    throw fieldError('BAD_REQUEST', 'headers.idempotency-key', 'give one key, not several')
  const base: OperationRequest = {
    initiator: { name: who.name, role: who.role, via: 'api' },
    ...(timeoutS !== undefined ? { timeoutMs: Math.round(timeoutS * 1000) } : {}),
  }

  let entry: IdempotentEntry
  if (key !== undefined) {
    const fp = fingerprint(req)
    const prev = deps.idempotency.get(who.name, key)
    if (prev) {
      if (prev.fingerprint !== fp)
        throw fieldError(
          'BAD_REQUEST',
          'headers.idempotency-key',
          `key already used for another request (${prev.fingerprint.split('\n')[0]}): use a new key per request`,
        )
      reply.header('idempotent-replayed', 'true')
      entry = prev
    } else {
      const cluster = deps.engine?.coordinator
      if (cluster && cluster.mode !== 'single') {
        // replica mode: another replica may have this key (the first request, or a retry, went there)
        const replayed = await replayFromCluster(cluster, who.name, key, fp, wait, timeoutS)
        if (replayed) {
          reply.header('idempotent-replayed', 'true')
          if (replayed.status === 'running') reply.code(202)
          return { simulated: deps.simulated, operation: replayed }
        }
      }
      const e = launch(base, counted(deps, who.name, scope, start), fp)
      entry = e
      deps.idempotency.set(who.name, key, e)
      // a refused request (404, 409…) created nothing: its key must not pin the refusal
      e.started.then(
        (op) => cluster?.bindKey(who.name, key, op.id).catch(() => {}),
        () => {
          deps.idempotency.delete(who.name, key, e)
          void cluster?.releaseKey(who.name, key).catch(() => {})
        },
      )
    }
  } else {
    entry = launch(
      { ...base, ...(wait ? { signal: abortOnClose(reply) } : {}) },
      counted(deps, who.name, scope, start),
    )
  }

  const op = await (wait ? entry.done : entry.started)
  if (op.status === 'running') reply.code(202)
  return { simulated: deps.simulated, operation: op }
}

type Cluster = NonNullable<FenceEngine['coordinator']>

/**
 * Replica mode: claim the key for this replica (undefined: claimed, run it here), or replay the
 * operation another replica started for it — its result when `wait` (within the request's
 * timeout, else as it stands), following a fence run again after its replica died.
 */
async function replayFromCluster(
  cluster: Cluster,
  scope: string,
  key: string,
  fp: string,
  wait: boolean,
  timeoutS: number | undefined,
): Promise<Operation | undefined> {
  const until = Date.now() + (timeoutS !== undefined ? timeoutS * 1000 : 40_000)
  let last: Operation | undefined
  for (;;) {
    const claim = await cluster.claimKey(scope, key, fp)
    if (claim.claimed) return undefined
    if (claim.fingerprint !== fp)
      throw fieldError(
        'BAD_REQUEST',
        'headers.idempotency-key',
        `key already used for another request (${claim.fingerprint.split('\n')[0]}): use a new key per request`,
      )
    if (claim.op) {
      let id: string | undefined = claim.op
      while (id) {
        const rec = await cluster.findOperation(id)
        if (!rec) break
        last = rec.op
        id = rec.rerunAs
        // a fence whose replica died is run again by another replica: wait for that one
        const pending = rec.op.status === 'running' || (rec.orphaned && rec.op.kind === 'fence' && !id)
        if (!wait || (!pending && !id)) return rec.op
        if (Date.now() > until) return rec.op
        if (pending) break
      }
    }
    if (Date.now() > until) {
      if (last) return last
      throw new FenceError(
        'DEADLINE_EXCEEDED',
        `the operation of this Idempotency-Key (on replica ${claim.replica}) had not started by this request's deadline: retry with the same key`,
      )
    }
    await new Promise((r) => setTimeout(r, REPLAY_POLL_MS))
  }
}

/** `start`, counted in the token's in-flight bounds until the operation ends (429 past them). */
function counted(deps: RunDeps, token: string, scope: RunScope, start: Start): Start {
  return (r) => {
    const release = deps.inflight.acquire(token, scope.budget, scope.nodes)
    let p: Promise<Operation>
    try {
      p = start(r)
    } catch (e) {
      release()
      throw e
    }
    p.then(release, release)
    return p
  }
}

function launch(r: OperationRequest, start: Start, fp = ''): IdempotentEntry {
  let started!: (op: Operation) => void
  const startedP = new Promise<Operation>((resolve) => {
    started = resolve
  })
  const done = start({ ...r, onStart: started })
  // a fence that joins one in flight never starts its own: it is known when it is done
  const entry: IdempotentEntry = {
    fingerprint: fp,
    started: Promise.race([startedP, done]),
    done,
    at: Date.now(),
  }
  done.catch(() => {}) // read by whoever awaits it; never an unhandled rejection
  entry.started.catch(() => {})
  return entry
}

/** What makes two requests "the same": method, route, params, body (keys sorted). */
function fingerprint(req: FastifyRequest): string {
  return `${req.method} ${req.url.split('?')[0]}\n${canonical(req.body ?? null)}`
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`
  return JSON.stringify(v)
}
