/**
 * The etcd3 client as replica mode uses it: how long a request may take, what happens when one
 * member of the cluster hangs, and how the endpoints are checked one by one when none answers.
 *
 * Why not etcd3's defaults: its per-member circuit breaker opens only after three failures in a
 * row, and its retries reuse the request's own deadline. A member that hangs (a stalled disk, a
 * stopped process, a link that drops packets) then eats a request's whole budget, and the retry
 * on a healthy member is sent with none left ("DEADLINE_EXCEEDED after 0.000s"): with one member
 * of three hung, a lock or a status read failed although two members held quorum. Here the
 * first try of a request gets half its budget, the member that did not answer in time is skipped
 * by every request for a while, and the rest of the budget goes to another member.
 */
import { readFileSync } from 'node:fs'
import { ConsecutiveBreaker, circuitBreaker, handleWhen, isBrokenCircuitError, retry } from 'cockatiel'
import etcd3 from 'etcd3'
import type { CoordinationConfig } from '../config/coordination.js'
import { sleep } from '../../core/deadline.js'

export type Etcd3 = InstanceType<typeof etcd3.Etcd3>

/** Longest a single etcd request may take, all its tries together, before it counts as failed. */
export const CALL_MS = 1000
/** How long a member that failed a request is passed over before it is tried again. */
const MEMBER_REST_MS = CALL_MS
/** A try that failed this fast (a refused connection, every member resting) is tried again after this. */
const RETRY_PAUSE_MS = 50

/** A request that ran out of time (its member hung or slow), rather than one refused. */
function timedOut(e: unknown): boolean {
  return e instanceof etcd3.GRPCDeadlineExceededError
}

export function newClient(cfg: CoordinationConfig, hosts: string[]): Etcd3 {
  const tls = cfg.etcd.tls
  return new etcd3.Etcd3({
    hosts,
    dialTimeout: CALL_MS,
    faultHandling: {
      // one failure and the member rests: the next requests go to the others at once
      host: () =>
        circuitBreaker(handleWhen(etcd3.isRecoverableError), {
          halfOpenAfter: MEMBER_REST_MS,
          breaker: new ConsecutiveBreaker(1),
        }),
      // a refused request moves to the next member within the same deadline; one that ran out
      // of time is not retried here (its deadline is gone): `tries` below gives it a new one
      global: retry(
        handleWhen((e) => etcd3.isRecoverableError(e) && !timedOut(e)),
        { maxAttempts: Math.max(2, hosts.length) },
      ),
    },
    ...(tls
      ? {
          credentials: {
            rootCertificate: readFileSync(tls.caFile),
            ...(tls.keyFile ? { privateKey: readFileSync(tls.keyFile) } : {}),
            ...(tls.certFile ? { certChain: readFileSync(tls.certFile) } : {}),
          },
        }
      : {}),
  })
}

/**
 * Run an etcd request that is safe to send twice (a read, a put or delete of a fixed value, a
 * transaction whose second run changes nothing) within `budgetMs`: the first try gets half the
 * budget, a try that timed out or was refused is sent again (to another member: the one that
 * failed rests) with what is left. Rejects with the last try's error.
 */
export async function tries<T>(
  send: (opts: { deadline: Date }) => PromiseLike<T>,
  budgetMs = CALL_MS,
): Promise<T> {
  const end = Date.now() + budgetMs
  for (let n = 0; ; n++) {
    const left = end - Date.now()
    const started = Date.now()
    try {
      return await send({ deadline: new Date(Date.now() + (n === 0 ? left / 2 : left)) })
    } catch (e) {
      const again = timedOut(e) || isBrokenCircuitError(e) || etcd3.isRecoverableError(e as Error)
      if (!again || end - Date.now() < RETRY_PAUSE_MS * 2) throw e
      if (Date.now() - started < RETRY_PAUSE_MS) await sleep(RETRY_PAUSE_MS)
    }
  }
}

/** Each endpoint on its own: the ones that do not answer a status request, and why. */
export async function probeEndpoints(cfg: CoordinationConfig): Promise<string[]> {
  const out: string[] = []
  await Promise.all(
    cfg.etcd.endpoints.map(async (ep) => {
      const c = newClient(cfg, [ep])
      try {
        await c.maintenance.status({ deadline: Date.now() + CALL_MS })
      } catch (e) {
        out.push(`${ep}: ${(e as Error).message}`)
      } finally {
        c.close()
      }
    }),
  )
  return out
}
