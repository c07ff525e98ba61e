import { type ClientOptions, expandTargets, withBackend } from '../common.js'
import { devicesTable, json, nodesTable } from '../format.js'
import { type CliIo, EXIT } from '../io.js'
import { simulatedNote } from './power.js'

export interface ListOptions extends ClientOptions {
  refresh?: boolean
  devices?: boolean
}

/**
 * `list [TARGETS]`: the nodes, their plugs and last known states (no device is touched unless
 * --refresh). `list --devices`: the devices and their health.
 */
export async function listCommand(io: CliIo, targets: string | undefined, o: ListOptions): Promise<number> {
  if (targets !== undefined) expandTargets(io, targets)
  return withBackend(io, o, async (b) => {
    if (o.devices) {
      const answer = await b.devices(io.stop)
      io.stdout.write(o.json ? json(answer) : devicesTable(answer.devices) + simulatedNote(answer.simulated))
      return answer.devices.every((d) => d.state !== 'failing') ? EXIT.ok : EXIT.failed
    }
    const answer = await b.nodes(targets, o.refresh === true, io.stop)
    io.stdout.write(
      o.json
        ? json(answer)
        : nodesTable(answer.nodes, { fenceAction: true }) + simulatedNote(answer.simulated),
    )
    return EXIT.ok
  })
}
