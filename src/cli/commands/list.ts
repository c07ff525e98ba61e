import { COMMON_DEVICE_OPTIONS, DRIVERS } from '../../../drivers/registry.js'
import { type OptionDecl, optionDefault, optionFieldNames, optionType } from '../../../core/options.js'
import { type ClientOptions, expandTargets, withBackend } from '../common.js'
import { devicesTable, json, nodesTable } from '../format.js'
import { type CliIo, EXIT } from '../io.js'
import { simulatedNote } from './power.js'

export interface ListOptions extends ClientOptions {
  refresh?: boolean
  devices?: boolean
  drivers?: boolean
}

/**
 * `list [TARGETS]`: the nodes, their plugs and last known states (no device is touched unless
 * --refresh). `list --devices`: the devices and their health.
 */
export async function listCommand(io: CliIo, targets: string | undefined, o: ListOptions): Promise<number> {
  if (o.drivers) {
    io.stdout.write(o.json ? json(driversJson()) : driversText())
    return EXIT.ok
  }
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

/** `list --drivers --json`: each kind, its description and its fields, from the declarations. */
function driversJson() {
  const fields = (decl: OptionDecl) =>
    Object.entries(decl).map(([name, o]) => ({
      name,
      names: optionFieldNames({ [name]: o }),
      type: optionType(o).replace(/`/g, ''),
      default: optionDefault(o).replace(/`/g, ''),
      ...(o['x-unit'] ? { unit: o['x-unit'] } : {}),
      secret: o['x-secret'] === true,
      description: o.description.replace(/`/g, ''),
    }))
  return {
    common: fields(COMMON_DEVICE_OPTIONS),
    drivers: [...DRIVERS.values()].map((d) => ({
      kind: d.kind,
      description: d.description,
      ...(d.singlePlug ? { singlePlug: d.singlePlug } : {}),
      fields: fields(d.options),
    })),
  }
}

/** `list --drivers`: for people, one block per kind (docs/configuration.md has the same tables). */
function driversText(): string {
  const { common, drivers } = driversJson()
  const block = (f: ReturnType<typeof driversJson>['common']) =>
    f
      .map(
        (x) => `  ${x.names.join(' | ')}  (${x.type}; default ${x.default || '-'})\n      ${x.description}\n`,
      )
      .join('')
  return [
    `every device: driver: KIND\n${block(common)}`,
    ...drivers.map(
      (d) =>
        `${d.kind}: ${d.description}${d.singlePlug ? ` (one plug: ${d.singlePlug})` : ''}\n${block(d.fields)}`,
    ),
  ].join('\n')
}
