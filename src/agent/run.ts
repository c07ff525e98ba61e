import { existsSync, readFileSync } from 'node:fs'
import { version } from '../cli/version.js'
import { AgentFailure } from './failure.js'
import type { AgentIo, IoSettings } from './io.js'
import { AGENT_NAME, metadataXml } from './metadata.js'
import { OPTIONS, longName } from './options.js'
import { type RawOptions, parseArgv, parseStdin } from './parse.js'
import { type AgentOptions, resolveOptions } from './resolve.js'

export interface RunInput {
  argv: readonly string[]
  /** Read only when argv is empty (Pacemaker's form). */
  readStdin: () => Promise<string>
  env: NodeJS.ProcessEnv
  io: AgentIo & { configure?(s: IoSettings): void }
}

/**
 * One run of the agent: parse (stdin when there are no arguments, getopt otherwise), check
 * every option before anything is contacted, then act. Returns the exit code; every failure
 * is one `Failed: …` line on stderr and exit 1.
 */
export async function runAgent(input: RunInput): Promise<number> {
  const { io } = input
  const raw: RawOptions = input.argv.length ? parseArgv(input.argv) : parseStdin(await input.readStdin())
  const { options: o, problems } = resolveOptions(raw, input.env)
  io.configure?.({ quiet: o.quiet, verbose: o.verbose, ...(o.debugFile ? { debugFile: o.debugFile } : {}) })
  for (const w of raw.warnings) io.warn(w)
  if (o.help) {
    io.out(usage())
    return 0
  }
  if (o.version) {
    io.out(`${AGENT_NAME} ${version()}`)
    return 0
  }
  if (problems.length) {
    for (const p of problems) io.err(`Failed: ${p}`)
    return 1
  }
  if (o.action === 'metadata') {
    io.out(metadataXml().trimEnd())
    return 0
  }
  try {
    if (o.action === 'validate-all') return await validateAll(o)
    const token = await loadToken(o)
    const { GatewayClient } = await import('./http.js')
    const { runAction } = await import('./actions.js')
    const ca = o.caFile ? readCa(o.caFile) : undefined
    const client = await GatewayClient.create({
      urls: o.urls,
      token,
      connectTimeoutMs: o.connectTimeoutMs,
      readTimeoutMs: o.readTimeoutMs,
      allowSimulated: o.allowSimulated,
      sslInsecure: o.sslInsecure,
      ...(ca ? { ca } : {}),
      debug: io.debug,
    })
    try {
      // one key per invocation: a fence re-sent to another replica is the same operation
      return await runAction({
        o,
        client,
        io,
        idempotencyKey: invocationKey(),
      })
    } finally {
      client.close()
    }
  } catch (e) {
    io.err(`Failed: ${e instanceof AgentFailure ? e.message : `internal error: ${(e as Error).stack ?? e}`}`)
    return 1
  }
}

/**
 * The Idempotency-Key of this run. Unique enough without loading crypto (start-up time): pid,
 * time and 64 random bits; a clash with another request is refused by the gateway anyway (a key
 * is bound to its route and body).
 */
function invocationKey(): string {
  const rnd = () => Math.floor(Math.random() * 2 ** 32).toString(36)
  return `${AGENT_NAME}-${process.pid}-${Date.now().toString(36)}-${rnd()}${rnd()}`
}

async function loadToken(o: AgentOptions): Promise<string> {
  const { readTokenFile, runPasswordScript } = await import('./token.js')
  if (o.tokenFile) return readTokenFile(o.tokenFile)
  // the script is bounded like a connection: a hung vault client must not eat the fence's deadline
  return runPasswordScript(o.passwordScript!, Math.max(5_000, o.connectTimeoutMs * 5))
}

function readCa(file: string): Buffer {
  try {
    return readFileSync(file)
  } catch (e) {
    throw new AgentFailure(`ca_file: cannot read ${file}: ${(e as NodeJS.ErrnoException).code}`)
  }
}

/** Options and local files only: no gateway, no device is contacted (fence-agents' validate-all). */
async function validateAll(o: AgentOptions): Promise<number> {
  if (o.tokenFile) {
    const { readTokenFile } = await import('./token.js')
    readTokenFile(o.tokenFile)
  } else if (o.passwordScript) {
    const cmd = o.passwordScript.trim().split(/\s+/)[0]!
    if (cmd.includes('/') && !existsSync(cmd))
      throw new AgentFailure(`password_script: ${cmd} does not exist`)
  }
  if (o.caFile) readCa(o.caFile)
  return 0
}

function usage(): string {
  const lines = [
    `Usage: ${AGENT_NAME} [options]`,
    `       ${AGENT_NAME} < key=value lines (as Pacemaker runs it)`,
    'Options:',
  ]
  for (const o of OPTIONS) {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${longName(o)}${o.type === 'boolean' ? '' : `=${o.arg ?? '[value]'}`}`
    lines.push(
      `   ${flag.padEnd(34)} ${o.shortdesc}${o.default !== undefined ? ` (default ${o.default})` : ''}`,
    )
  }
  lines.push('Actions: on, off, reboot, status, list, list-status, monitor, metadata, validate-all')
  return lines.join('\n')
}
