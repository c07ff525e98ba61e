import type { CliIo } from '../io.js'
import { CliError, EXIT, UsageError } from '../io.js'
import { type ClientOptions, withBackend } from '../common.js'
import { json, resultsTable } from '../format.js'

/**
 * `confirm NODE --reason TEXT [--yes]` (meatware, as cluster-glue's meatclient): a person who has
 * checked the machine says it is off. Completes a fence waiting at its manual level, or records
 * the confirmation of a fence that failed. The operator types the node name unless --yes: a
 * wrong confirmation lets the cluster take over a node that may still be writing.
 */
export async function confirmCommand(
  io: CliIo,
  node: string,
  o: ClientOptions & { reason?: string; yes?: boolean },
): Promise<number> {
  const reason = o.reason?.trim()
  if (!reason || reason.length < 3)
    throw new UsageError('confirm: --reason TEXT is required (why you are sure it is off)')
  if (!o.yes) {
    if (!io.readLine)
      throw new UsageError('confirm: no terminal to ask on: check the machine, then pass --yes')
    io.stderr.write(
      `WARNING: confirming that ${node} is OFF lets the cluster take over its disks and addresses.\n` +
        `If ${node} is in fact still running, data will be corrupted. Check the machine itself first.\n`,
    )
    const typed = (await io.readLine(`Type the node name (${node}) to confirm it is off: `))?.trim()
    if (typed !== node)
      throw new CliError(`confirm: not confirmed (typed ${JSON.stringify(typed ?? '')}, not ${node})`)
  }
  return withBackend(io, o, async (b) => {
    const answer = await b.confirm(node, reason, {
      ...(o.timeout !== undefined ? { timeoutS: o.timeout } : {}),
      signal: io.stop,
    })
    const op = answer.operation
    io.stdout.write(o.json ? json(answer) : resultsTable(op.results))
    const r = op.results.find((x) => x.node === node)
    return r?.outcome === 'confirmed-by-operator' || r?.outcome === 'success' ? EXIT.ok : EXIT.failed
  })
}
