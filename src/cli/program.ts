import { Command, InvalidArgumentError, Option } from 'commander'
import type { FenceAction, NodeAction } from '../../core/types.js'
import { type ClientOptions, clientOptions } from './common.js'
import { parseLimit, parseWhen } from './commands/history.js'
import type { CliIo } from './io.js'

/** `HOST:PORT` or `[v6]:PORT` for --listen and --control. */
export function parseHostPort(v: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(v)
  if (!m || Number(m[3]) > 65535) throw new InvalidArgumentError('expected HOST:PORT, like 127.0.0.1:8443')
  return { host: (m[1] ?? m[2])!, port: Number(m[3]) }
}

const EXAMPLES = `
Targets are hostlists: node1, node[1-16], rack1-n[01-10],db[1-2]

Talks to a running gateway (--url, FENCEGATE_URL, ~/.config/fencegate/url; token from
FENCEGATE_TOKEN, --token-file or ~/.config/fencegate/token), or with --config FILE runs
the engine in this process. Exit status: 0 every target succeeded, 1 something failed,
2 bad command line.

Quick start (in the checkout; \`npx fencegate\` also finds a global install):
  npx fencegate serve --demo          # in one terminal: a gateway on simulated devices
  npx fencegate status 'demo-[1-4]'   # in another
  npx fencegate fence demo-3
  npx fencegate history
`

/**
 * The command tree. Commands load their heavy modules (engine, fastify, mocks) only when they
 * run: `fencegate status` is run often and should start fast.
 */
export function buildProgram(io: CliIo, done: (code: number) => void): Command {
  const program = new Command('fencegate')
    .description('fencing (STONITH) and power control gateway')
    .addHelpText('after', EXAMPLES)
    .showSuggestionAfterError(true)
    .option('-V, --version', 'print the version')

  const run = (fn: () => Promise<number>) => async () => done(await fn())

  clientOptions(
    program.command('status').description('read the power state of nodes now (exit 1 if any reads unknown)'),
  )
    .argument('[targets...]', 'nodes (hostlists; default: every node)')
    .action((targets: string[], o: ClientOptions) =>
      run(async () =>
        (await import('./commands/power.js')).statusCommand(
          io,
          targets.length ? targets.join(',') : undefined,
          o,
        ),
      )(),
    )

  const actions: [NodeAction, string][] = [
    ['on', 'power nodes on (read back on)'],
    ['off', 'power nodes off, hard off, read back off'],
    ['cycle', 'power cycle nodes (a node that is off is powered on)'],
    ['reboot', 'off (verified), wait powerWait, on'],
  ]
  for (const [action, description] of actions)
    clientOptions(program.command(action).description(description), { timeout: true })
      .argument('<targets...>', 'nodes (hostlists)')
      .action((targets: string[], o: ClientOptions) =>
        run(async () =>
          (await import('./commands/power.js')).powerCommand(io, action, targets.join(','), o),
        )(),
      )

  clientOptions(
    program.command('fence').description('fence nodes: hard off read back off (or reboot); levels in order'),
    { timeout: true },
  )
    .argument('<targets...>', 'nodes (hostlists)')
    .addOption(
      new Option('--action <action>', "off or reboot (default: the node's fenceAction)").choices([
        'off',
        'reboot',
      ]),
    )
    .action((targets: string[], o: ClientOptions & { action?: FenceAction }) =>
      run(async () =>
        (await import('./commands/power.js')).fenceCommand(io, targets.join(','), o.action, o),
      )(),
    )

  clientOptions(
    program
      .command('confirm')
      .description('confirm by hand that a node is off (meatware): completes a fence that waits or failed'),
    { timeout: true },
  )
    .argument('<node>', 'one node')
    .option('--reason <text>', 'why you are sure it is off (journaled)')
    .option('--yes', 'do not ask to type the node name')
    .action((node: string, o: ClientOptions & { reason?: string; yes?: boolean }) =>
      run(async () => (await import('./commands/confirm.js')).confirmCommand(io, node, o))(),
    )

  clientOptions(
    program
      .command('list')
      .description(
        'nodes, their plugs and last known states; --devices: device health; --drivers: the driver kinds and their fields',
      ),
  )
    .argument('[targets...]', 'only these nodes (hostlists)')
    .option('--refresh', 'read the devices now instead of the last known states')
    .option('--devices', 'list the devices and their health instead')
    .option('--drivers', 'list the driver kinds this build knows and their config fields (no gateway needed)')
    .action((targets: string[], o) =>
      run(async () =>
        (await import('./commands/list.js')).listCommand(
          io,
          targets.length ? targets.join(',') : undefined,
          o,
        ),
      )(),
    )

  clientOptions(
    program.command('history').description('what was done, from the journal (the table: newest last)'),
  )
    .option('--node <node>', 'only this node')
    .option('--since <time>', 'ISO time or an age: 90m, 2h, 3d', (v) => parseWhen(v))
    .option('--until <time>', 'ISO time or an age: 90m, 2h, 3d', (v) => parseWhen(v))
    .addOption(
      new Option('--outcome <outcome>', 'only this outcome').choices([
        'success',
        'failed',
        'unverified',
        'confirmed-by-operator',
        'unknown',
      ]),
    )
    .option('--limit <n>', 'at most this many entries (default 50)', parseLimit)
    .action((o) => run(async () => (await import('./commands/history.js')).historyCommand(io, o))())

  program
    .command('check-config')
    .description('validate a config file: every problem as FILE:LINE: field: expected …')
    .argument('<file>', 'the config file')
    .option('--json', 'print JSON')
    .action((file: string, o) =>
      run(async () => (await import('./commands/check-config.js')).checkConfigCommand(io, file, o))(),
    )

  clientOptions(
    program
      .command('members')
      .description(
        'cluster membership of a running gateway: nodes, links, last heard, quorum (exit 1 if any is not up)',
      ),
    { gatewayOnly: true },
  ).action((o) => run(async () => (await import('../heartbeat/cli.js')).membersCommand(io, o))())

  clientOptions(
    program
      .command('cluster')
      .description(
        'replicas of a running gateway: leases, the leader, which replica holds which device (exit 1 if etcd cannot be read or the lease is lost)',
      ),
    { gatewayOnly: true },
  ).action((o) => run(async () => (await import('./commands/cluster.js')).clusterCommand(io, o))())

  program
    .command('serve')
    .description('run the gateway: --config FILE, or --demo (simulated devices)')
    .option('--config <file>', 'the config file')
    .option('--demo', 'start an embedded lab of mock devices and a matching config')
    .option(
      '--listen <host:port>',
      'listen here instead of the config’s listen (demo: 127.0.0.1:8443)',
      parseHostPort,
    )
    .addOption(
      new Option('--log-level <level>', 'log level (logs go to stderr)')
        .choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
        .default('info'),
    )
    .action((o) => run(async () => (await import('./commands/serve.js')).serveCommand(io, o))())

  program
    .command('lab')
    .description('start the mock devices of a lab file (default: the demo devices) until SIGTERM')
    .option('--lab <file>', 'the lab file (see docs/lab.md)')
    .option(
      '--control <host:port>',
      "the control API's address (overrides the file's control:)",
      parseHostPort,
    )
    .option('--print-config', 'print a gateway config reaching the lab instead of the device lines')
    .option('--write-config <file>', 'also write that gateway config to FILE (mode 0600)')
    .action((o) => run(async () => (await import('./commands/lab.js')).labCommand(io, o))())

  program
    .command('token')
    .description('generate an API token; prints it and the sha256: hash line for the config')
    .option('--name <name>', 'the token name for the config line', 'NAME')
    .addOption(
      new Option('--role <role>', 'the role for the config line')
        .choices(['viewer', 'operator', 'fencer'])
        .default('operator'),
    )
    .option('--out <file>', 'write the token to FILE (mode 0600, never overwritten) instead of printing it')
    .option('--json', 'print JSON')
    .action((o) => run(async () => (await import('./commands/token.js')).tokenCommand(io, o))())

  return program
}
