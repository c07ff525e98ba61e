import type { GatewayConfig } from '../../config/config.js'
import { compressHostlist } from '../../core/hostlist.js'
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
    }
    if (o.json) io.stdout.write(json(summary))
    else {
      io.stdout.write(
        `${file}: ok: ${c.devices.size} device${c.devices.size === 1 ? '' : 's'}, ` +
          `${nodes.length} node${nodes.length === 1 ? '' : 's'}${nodes.length ? ` (${compressHostlist(nodes)})` : ''}, ` +
          `${c.tokens.length} token${c.tokens.length === 1 ? '' : 's'}, listen ${summary.listen}\n`,
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

/**
 * loadConfig, plus the heartbeat section, which the gateway's loader keeps as an opaque mapping
 * for src/heartbeat to read: a mistake there should show here too, with its line.
 */
async function load(file: string): Promise<GatewayConfig> {
  const [{ readConfig }, { YamlSource }, { readHeartbeatConfig }] = await Promise.all([
    import('../../config/config.js'),
    import('../../config/yaml.js'),
    import('../../heartbeat/config.js'),
  ])
  const src = YamlSource.read(file)
  const { config, problems } = readConfig(src.value, file)
  if (config.heartbeat) {
    const seen = new Set(problems.map((p) => `${p.path.join('.')}\u0000${p.message}`))
    const hb = readHeartbeatConfig(config.heartbeat, {
      journalPath: config.journal.path,
      defaultTimeoutMs: config.engine.defaultTimeoutMs,
      fenceNodes: [...config.nodes.keys()],
    })
    for (const p of hb.problems) if (!seen.has(`${p.path.join('.')}\u0000${p.message}`)) problems.push(p)
  }
  src.assertNone(problems)
  return config
}
