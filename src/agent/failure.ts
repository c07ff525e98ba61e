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
  ) {
    super(`${what}: the gateway answered ${status} ${code}: ${detail}`)
    this.name = 'GatewayHttpError'
  }
}
