import { compressHostlist } from '../../../core/hostlist.js'
import type { FenceAction, NodeAction } from '../../../core/types.js'
import type { Operation } from '../../engine/types.js'
import type { Backend } from '../backend.js'
import { type ClientOptions, asCliError, expandTargets, withBackend } from '../common.js'
import { json, nodesTable, resultsTable, summary } from '../format.js'
import { type CliIo, EXIT } from '../io.js'
import { Progress } from '../progress.js'

/** `status TARGETS`: read now. Exit 0 when every node read on or off, 1 when any is unknown. */
export async function statusCommand(
  io: CliIo,
  targets: string | undefined,
  o: ClientOptions,
): Promise<number> {
  const names = targets === undefined ? undefined : expandTargets(io, targets)
  return withBackend(io, o, async (b) => {
    const label = `status ${names ? compressHostlist(names) : 'all nodes'}`
    const progress = Progress.start(io, label, names?.length ?? Number.POSITIVE_INFINITY, { count: false })
    let answer: Awaited<ReturnType<Backend['nodes']>>
    try {
      answer = await b.nodes(targets, true, io.stop)
    } finally {
      progress?.stop()
    }
    io.stdout.write(o.json ? json(answer) : nodesTable(answer.nodes) + simulatedNote(answer.simulated))
    return answer.nodes.every((n) => n.state === 'on' || n.state === 'off') ? EXIT.ok : EXIT.failed
  })
}

/** `on|off|cycle|reboot TARGETS`: one operation over every target. */
export async function powerCommand(
  io: CliIo,
  action: NodeAction,
  targets: string,
  o: ClientOptions,
): Promise<number> {
  const names = expandTargets(io, targets)
  return withBackend(io, o, async (b) => {
    const progress = Progress.start(io, `${action} ${compressHostlist(names)}`, names.length, {
      count: b.counts,
    })
    let answer: Awaited<ReturnType<Backend['power']>>
    try {
      answer = await b.power(names, targets, action, {
        ...(o.timeout !== undefined ? { timeoutS: o.timeout } : {}),
        ...(progress ? { progress: progress.update } : {}),
        signal: io.stop,
      })
    } finally {
      progress?.stop()
    }
    const op = answer.operation
    io.stdout.write(
      o.json ? json(answer) : resultsTable(op.results) + summary([op]) + simulatedNote(answer.simulated),
    )
    return succeeded(op) ? EXIT.ok : EXIT.failed
  })
}

const FENCE_CONCURRENCY = 16

/**
 * `fence TARGETS [--action off|reboot]`: one fence operation per node (the API fences one node
 * per request; the engine joins a fence already in flight), all at once up to a bound.
 */
export async function fenceCommand(
  io: CliIo,
  targets: string,
  action: FenceAction | undefined,
  o: ClientOptions,
): Promise<number> {
  const names = expandTargets(io, targets)
  return withBackend(io, o, async (b) => {
    const progress = Progress.start(io, `fence ${compressHostlist(names)}`, names.length)
    const operations: Operation[] = []
    const errors: { node: string; message: string }[] = []
    let simulated = false
    let next = 0
    let done = 0
    const worker = async () => {
      while (next < names.length) {
        const node = names[next++]!
        try {
          const a = await b.fence(node, action, {
            ...(o.timeout !== undefined ? { timeoutS: o.timeout } : {}),
            signal: io.stop,
          })
          simulated ||= a.simulated
          operations.push(a.operation)
        } catch (e) {
          const err = asCliError(e)
          if (err.exitCode !== EXIT.failed) throw err
          errors.push({ node, message: err.message })
        }
        progress?.update(++done)
      }
    }
    try {
      await Promise.all(Array.from({ length: Math.min(FENCE_CONCURRENCY, names.length) }, worker))
    } finally {
      progress?.stop()
    }
    // keep the order the user wrote
    const order = (node: string) => names.indexOf(node)
    operations.sort((x, y) => order(x.nodes[0]!) - order(y.nodes[0]!))
    if (o.json) io.stdout.write(json({ simulated, operations, errors }))
    else {
      if (operations.length)
        io.stdout.write(resultsTable(operations.flatMap((op) => op.results)) + summary(operations))
      for (const e of errors) io.stderr.write(`fencegate: fence ${e.node}: ${e.message}\n`)
      io.stdout.write(simulatedNote(simulated))
    }
    return errors.length === 0 && operations.every(succeeded) ? EXIT.ok : EXIT.failed
  })
}

function succeeded(op: Operation): boolean {
  return (
    // unverified (a device that cannot read back) is what such a device can do at best; a confirmed
    // fence is what Pacemaker counts as fenced. Both are said in the table.
    op.status === 'succeeded' && op.results.length > 0 && op.results.every((r) => r.outcome !== 'failed')
  )
}

export function simulatedNote(simulated: boolean): string {
  return simulated ? '(simulated devices: this gateway runs on mock firmware)\n' : ''
}
