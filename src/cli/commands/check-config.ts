import type { GatewayConfig } from '../../config/config.js'
import { compressHostlist } from '../../../core/hostlist.js'
import { asCliError } from '../common.js'
import { json } from '../format.js'
import { type CliIo, EXIT } from '../io.js'

/**
 * `check-config FILE`: validate without starting anything. Every problem is printed as
 * `FILE:LINE: field: expected …` (all of them, not just the first); exit 1 if any. Secret files
 * are not read (the gateway reads them when it opens a device).
 */
export async function checkConfigCommand(io: CliIo, file: string, o: { json?: boolean }): Promise<number> {
  try {
    const c = await load(file)
    const nodes = [...c.nodes.keys()]
    const summary = {
      file,
      ok: true,
      listen: `${c.listen.host}:${c.listen.port}`,
      devices: [...c.devices.values()].map((d) => ({ id: d.id, driver: d.driver })),
      nodes,
      tokens: c.tokens.map((t) => ({ name: t.name, role: t.role })),
      journal: c.journal.path,
      simulated: c.simulated,
      ...(c.coordination
        ? { coordination: { replica: c.coordination.replica, etcd: c.coordination.etcd.endpoints } }
        : {}),
    }
    if (o.json) io.stdout.write(json(summary))
    else {
      io.stdout.write(
        `${file}: ok: ${c.devices.size} device${c.devices.size === 1 ? '' : 's'}, ` +
          `${nodes.length} node${nodes.length === 1 ? '' : 's'}${nodes.length ? ` (${compressHostlist(nodes)})` : ''}, ` +
          `${c.tokens.length} token${c.tokens.length === 1 ? '' : 's'}, listen ${summary.listen}\n`,
      )
      if (c.coordination)
        io.stdout.write(
          `${file}: replica mode: replica ${c.coordination.replica}, etcd ${c.coordination.etcd.endpoints.join(', ')} (not contacted by check-config)\n`,
        )
      if (c.tokens.length === 0)
        io.stdout.write(`${file}: note: no tokens in auth.tokens: the API will refuse every request\n`)
    }
    return EXIT.ok
  } catch (e) {
    const err = asCliError(e)
    if (o.json) {
      io.stdout.write(json({ file, ok: false, problems: err.message.split('\n') }))
      return EXIT.failed
    }
    throw err
  }
}

function load(file: string): Promise<GatewayConfig> {
  return import('../../config/config.js').then((m) => m.loadConfig(file))
}
