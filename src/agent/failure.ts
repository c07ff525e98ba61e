/**
 * A failure the agent reports as `Failed: <message>` on stderr with exit 1. Messages that
 * describe a deadline contain "timed out": Pacemaker's fencer maps that text to ETIME (and
 * does not retry a timed-out device, it moves on to the next one).
 */
export class AgentFailure extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'AgentFailure'
  }
}

/** The gateway answered with an error body: `{statusCode, error, code, message}`. */
export class GatewayHttpError extends AgentFailure {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    what: string,
    /** The whole error body (some carry more than the message, e.g. GET /v1/cluster's `self`). */
    readonly body?: Record<string, unknown>,
  ) {
    super(`${what}: the gateway answered ${status} ${code}: ${detail}`)
    this.name = 'GatewayHttpError'
  }
}

/**
 * The gateway could not be reached or did not answer. `connected`: a connection was made, so a
 * request may have reached the gateway (a mutating one is re-sent elsewhere only with its
 * Idempotency-Key); false: nothing was sent, any request may go to another gateway.
 */
export class TransportFailure extends AgentFailure {
  constructor(
    message: string,
    readonly connected: boolean,
  ) {
    super(message)
    this.name = 'TransportFailure'
  }
}
