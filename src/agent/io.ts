import { appendFileSync } from 'node:fs'

/** Where the agent's words go: results on stdout, failures and warnings on stderr, debug where asked. */
export interface AgentIo {
  /** stdout: `Success: …`, `Status: ON`, list lines, metadata. */
  out(line: string): void
  /** stderr, always: `Failed: …` and warnings Pacemaker must see (an unverified power-on). */
  err(line: string): void
  /** stderr unless quiet: notes on ignored options. */
  warn(line: string): void
  /** stderr when verbose, and the debug file. */
  debug(line: string): void
}

export interface IoSettings {
  quiet?: boolean
  verbose?: boolean
  debugFile?: string
}

export function processIo(): AgentIo & { configure(s: IoSettings): void } {
  let s: IoSettings = {}
  const toFile = (line: string) => {
    if (!s.debugFile) return
    try {
      appendFileSync(s.debugFile, `${new Date().toISOString()} fence_fencegate[${process.pid}] ${line}\n`)
    } catch {
      // a debug file that cannot be written must not fail a fence; validate-all reports it
    }
  }
  return {
    configure(settings) {
      s = settings
    },
    out: (line) => {
      process.stdout.write(`${line}\n`)
      toFile(`stdout: ${line}`)
    },
    err: (line) => {
      process.stderr.write(`${line}\n`)
      toFile(line)
    },
    warn: (line) => {
      if (!s.quiet) process.stderr.write(`${line}\n`)
      toFile(line)
    },
    debug: (line) => {
      if (s.verbose) process.stderr.write(`${line}\n`)
      toFile(line)
    },
  }
}
