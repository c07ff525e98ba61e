import type { FastifyReply } from 'fastify'
import { FenceError } from '../../core/errors.js'

/** A signal that aborts when the HTTP client goes away before its answer was sent. */
export function abortOnClose(reply: FastifyReply): AbortSignal {
  const ac = new AbortController()
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished)
      ac.abort(new FenceError('ABORTED', 'the HTTP client went away before the answer'))
  })
  return ac.signal
}
