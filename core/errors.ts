/**
 * One table of error codes for the whole gateway (fastify's way): a stable code, the HTTP
 * status the API answers with, and whether the engine may retry. Drivers throw these so the
 * engine can tell a transient failure (retry) from a permanent one (give up, next level).
 */
export const ERRORS = {
  // device side, transient: a retry may succeed
  DEVICE_TIMEOUT: { status: 504, transient: true, title: 'the device did not answer in time' },
  DEVICE_UNREACHABLE: { status: 503, transient: true, title: 'the device cannot be reached' },
  DEVICE_BUSY: { status: 503, transient: true, title: 'the device is busy' },
  CONNECTION_LOST: { status: 503, transient: true, title: 'the connection to the device was lost' },
  PROTOCOL_ERROR: { status: 502, transient: true, title: 'the device answered something unexpected' },
  // device side, permanent
  AUTH_REFUSED: { status: 502, transient: false, title: 'the device refused our credentials' },
  NO_SUCH_PLUG: { status: 404, transient: false, title: 'the device has no such plug' },
  UNSUPPORTED_ACTION: { status: 422, transient: false, title: 'the device cannot do that' },
  DEVICE_ERROR: { status: 502, transient: false, title: 'the device reported an error' },
  INSECURE_DEVICE: { status: 502, transient: false, title: 'the device offers only weak security' },
  // engine
  ABORTED: { status: 499, transient: false, title: 'the caller went away' },
  DEADLINE_EXCEEDED: { status: 504, transient: false, title: 'the deadline passed' },
  VERIFY_FAILED: { status: 502, transient: false, title: 'the state did not read back as requested' },
  FENCE_HOLD: { status: 409, transient: false, title: 'the node is being fenced or was just fenced' },
  NOTHING_TO_CONFIRM: {
    status: 409,
    transient: false,
    title: 'no fence of the node waits for or needs a confirmation',
  },
  PREEMPTED: { status: 409, transient: false, title: 'a fence of the node pre-empted this operation' },
  QUEUE_FULL: { status: 429, transient: false, title: 'too much work is queued for the device' },
  TOO_MANY_OPERATIONS: {
    status: 429,
    transient: false,
    title: 'the token has too many operations in flight',
  },
  UNKNOWN_NODE: { status: 404, transient: false, title: 'no such node' },
  UNKNOWN_DEVICE: { status: 404, transient: false, title: 'no such device' },
  UNKNOWN_OPERATION: { status: 404, transient: false, title: 'no such operation' },
  NOT_FOUND: { status: 404, transient: false, title: 'no such route' },
  ENGINE_CLOSED: { status: 503, transient: false, title: 'the engine is shutting down' },
  REPLICA_LOST: {
    status: 503,
    transient: false,
    title: 'the replica running the operation died mid-operation: its outcome is unknown',
  },
  COORDINATION_UNAVAILABLE: {
    status: 503,
    transient: false,
    title: 'replica mode: etcd cannot be reached or this replica lost its lease',
  },
  // input
  BAD_REQUEST: { status: 400, transient: false, title: 'bad request' },
  HOSTLIST_SYNTAX: { status: 400, transient: false, title: 'malformed hostlist' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, transient: false, title: 'the body is not sent as JSON' },
  CONFIG_INVALID: { status: 400, transient: false, title: 'invalid configuration' },
  SECRET_UNSAFE: { status: 400, transient: false, title: 'secret file readable by others' },
  // auth
  UNAUTHORIZED: { status: 401, transient: false, title: 'missing or unknown token' },
  FORBIDDEN: { status: 403, transient: false, title: 'the token may not do that' },
  // journal
  JOURNAL_LOCKED: { status: 503, transient: false, title: 'another engine holds the journal' },
  JOURNAL_IO: { status: 500, transient: false, title: 'the journal could not be written' },
  INTERNAL: { status: 500, transient: false, title: 'internal error' },
} as const satisfies Record<string, { status: number; transient: boolean; title: string }>

export type ErrorCode = keyof typeof ERRORS

export class FenceError extends Error {
  readonly code: ErrorCode
  readonly details?: Record<string, unknown>
  constructor(code: ErrorCode, message?: string, details?: Record<string, unknown>, options?: ErrorOptions) {
    super(message ?? ERRORS[code].title, options)
    this.name = 'FenceError'
    this.code = code
    if (details) this.details = details
  }
  get transient(): boolean {
    return ERRORS[this.code].transient
  }
  get httpStatus(): number {
    return ERRORS[this.code].status
  }
}

export function isTransient(err: unknown): boolean {
  return err instanceof FenceError && err.transient
}

/** Any thrown thing as a FenceError (unknown errors become INTERNAL, keeping the message). */
export function toFenceError(err: unknown): FenceError {
  if (err instanceof FenceError) return err
  if (err instanceof Error && err.name === 'AbortError') return new FenceError('ABORTED', err.message)
  if (err instanceof Error && err.name === 'TimeoutError')
    return new FenceError('DEADLINE_EXCEEDED', err.message)
  return new FenceError('INTERNAL', err instanceof Error ? err.message : String(err), undefined, {
    cause: err,
  })
}

/** The error an aborted call throws: a deadline (`TimeoutError` reason) or a caller who left. */
export function abortError(signal: AbortSignal): FenceError {
  const reason = signal.reason
  // a copy: one signal's reason is shared by every call it cut, and callers annotate their error
  if (reason instanceof FenceError) return new FenceError(reason.code, reason.message, reason.details)
  if (reason instanceof Error && reason.name === 'TimeoutError') return new FenceError('DEADLINE_EXCEEDED')
  return new FenceError('ABORTED', reason instanceof Error ? reason.message : undefined)
}

export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw abortError(signal)
}
