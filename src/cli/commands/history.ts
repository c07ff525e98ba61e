import { InvalidArgumentError } from 'commander'
import { parseDuration } from '../../../core/duration.js'
import type { HistoryOutcome, HistoryQuery } from '../../engine/types.js'
import { type ClientOptions, withBackend } from '../common.js'
import { historyTable, json } from '../format.js'
import { type CliIo, EXIT } from '../io.js'
import { simulatedNote } from './power.js'

export interface HistoryOptions extends ClientOptions {
  node?: string
  since?: Date
  until?: Date
  outcome?: HistoryOutcome
  limit?: number
}

/** A point in time: an ISO date, or how long ago (`90m`, `2h`, `3d`). */
export function parseWhen(v: string, now = Date.now()): Date {
  const days = /^(\d+)d$/.exec(v)
  if (days) return new Date(now - Number(days[1]) * 86_400_000)
  if (/^\d+(\.\d+)?(ms|s|m|h)$/.test(v)) return new Date(now - parseDuration(v))
  const d = new Date(v)
  if (Number.isNaN(d.getTime()))
    throw new InvalidArgumentError('expected an ISO time (2024-05-01T10:00:00Z) or an age like 2h or 3d')
  return d
}

export function parseLimit(v: string): number {
  const n = Number(v)
  if (!/^\d+$/.test(v) || n < 1 || n > 10_000)
    throw new InvalidArgumentError('expected a number from 1 to 10000')
  return n
}

/** `history`: what the journal says was done; `unknown` = interrupted mid-operation. */
export async function historyCommand(io: CliIo, o: HistoryOptions): Promise<number> {
  const q: HistoryQuery = {
    ...(o.node !== undefined ? { node: o.node } : {}),
    ...(o.since ? { since: o.since } : {}),
    ...(o.until ? { until: o.until } : {}),
    ...(o.outcome ? { outcome: o.outcome } : {}),
    limit: o.limit ?? 50,
  }
  return withBackend(io, o, async (b) => {
    const answer = await b.history(q, io.stop)
    // replica mode with etcd unreadable: say on stderr that this is one replica's part only
    if (answer.warning) io.stderr.write(`warning: ${answer.warning}\n`)
    // the API answers newest first (the limit keeps the newest); a table reads best newest last,
    // next to the prompt
    io.stdout.write(
      o.json ? json(answer) : historyTable([...answer.entries].reverse()) + simulatedNote(answer.simulated),
    )
    return EXIT.ok
  })
}
